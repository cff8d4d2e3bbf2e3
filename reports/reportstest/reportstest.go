// Package reportstest builds deterministic result models for the report
// writers' tests and benchmarks: a small realistic run with two hypervisors
// (one of them simulated), hostile guest output and charts, and a synthetic
// run of any size.
package reportstest

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
)

// Hostile is guest output that must come out escaped and without ANSI.
const Hostile = "\x1b[31mred\x1b[0m <script>alert(1)</script> & \"quotes\" \x07bell ]]> end"

func ip(i int) *int         { return &i }
func bp(b bool) *bool       { return &b }
func fp(f float64) *float64 { return &f }

// Epoch is the fixed clock of Sample.
var Epoch = time.Date(2026, 11, 21, 23, 15, 0, 0, time.UTC)

// Sample returns a run with three targets: lab-kvm/debian-12 (emulated
// libvirt), hyperv-sim/debian-12 (a SIMULATED Hyper-V host: same image,
// some checks differ) and lab-kvm/tiny. It has every status, a waived
// failure, hostile output, a clock series and throughput thresholds.
func Sample() *reports.Run {
	t0 := Epoch
	kvmHost := drivers.HostInfo{
		Driver: "libvirt", Hypervisor: "qemu", Name: "lab1", OS: "Debian GNU/Linux 12 (bookworm) 6.1.0-28-amd64",
		Versions: map[string]string{"libvirt": "9.0.0", "qemu": "7.2.0"}, Accel: "tcg", Nature: drivers.NatureEmulated,
		Notes: []string{"nested KVM hangs on this machine: guests run under TCG"},
	}
	hvHost := drivers.HostInfo{
		Driver: "hyperv", Hypervisor: "hyperv", Name: "hvsim", OS: "Windows Server 2022 (simulated) 10.0.20348",
		Versions: map[string]string{"hyperv": "10.0.20348.1 (sim)"}, Accel: "hyperv", Nature: drivers.NatureSimulated,
		Notes: []string{"WS-Man simulator: Hyper-V behaviour is modelled, not real"},
	}
	kvm := &reports.Target{ID: "lab-kvm/debian-12", Host: "lab-kvm", Image: "debian-12", Profile: "kvm-tcg", HostInfo: kvmHost,
		Guest: sampleGuest("vc-ab12cd-debian-12"), Results: sampleResults(false), Started: t0, Finished: t0.Add(9 * time.Minute),
		Artifacts: []string{"artifacts/lab-kvm_debian-12/console.log"}}
	hv := &reports.Target{ID: "hyperv-sim/debian-12", Host: "hyperv-sim", Image: "debian-12", Profile: "hyperv", HostInfo: hvHost,
		Guest: sampleGuest("vc-ab12cd-debian-12"), Results: sampleResults(true), Started: t0, Finished: t0.Add(9 * time.Minute)}
	tinyG := sampleGuest("vc-ab12cd-tiny")
	tinyG.Distro, tinyG.Kernel, tinyG.ImageSHA256 = "busybox initramfs", "6.1.0-28-amd64", "aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55"
	tiny := &reports.Target{ID: "lab-kvm/tiny", Host: "lab-kvm", Image: "tiny", Profile: "kvm-tcg", HostInfo: kvmHost,
		Guest: tinyG, Started: t0, Finished: t0.Add(3 * time.Minute)}
	for _, r := range sampleResults(false)[:5] {
		tiny.Results = append(tiny.Results, r)
	}
	return &reports.Run{Schema: reports.SchemaVersion, ID: "vc-20261121-2315-ab12cd", Version: "0.1.0-test",
		PlanHash: "9b2e5c0d4a1f7e6b3c8d2a0f1e4b7c6d5a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d", PlanName: "default",
		Started: t0, Finished: t0.Add(10 * time.Minute), Complete: true, Targets: []*reports.Target{kvm, hv, tiny}}
}

// sampleGuest is the guest of a Sample target.
func sampleGuest(name string) reports.GuestInfo {
	return reports.GuestInfo{
		Name: name, Address: "192.168.122.10", Distro: "Debian GNU/Linux 12 (bookworm)", Kernel: "6.1.0-28-amd64",
		ImageSHA256: "3f1c2a9d8e7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa998877", ImagePath: "/var/lib/virtcert/debian-12.qcow2",
		Config:      map[string]string{"cpus": "2", "memory": "1024 MiB", "nic": "virtio", "disk": "virtio", "firmware": "bios"},
		BootSeconds: 14.2,
	}
}

// clockSeries is a clock-offset series of 20 samples drifting by drift.
func clockSeries(drift float64) []reports.Point {
	var p []reports.Point
	for i := 0; i < 20; i++ {
		p = append(p, reports.Point{T: float64(i) * 3, V: 0.002*math.Sin(float64(i)/3) + drift*float64(i)})
	}
	return p
}

// res is a Sample result started at Epoch+at.
func res(check, area string, st reports.Status, reason string, at time.Duration) *reports.Result {
	return &reports.Result{Check: check, Area: area, Priority: 1, Title: check, Status: st, Reason: reason,
		Started: Epoch.Add(at), Duration: 1500*time.Millisecond + at/100}
}

// sampleResults is the results of a debian-12 Sample target: the KVM ones,
// or those of the simulated Hyper-V host when hyperv.
func sampleResults(hyperv bool) []*reports.Result {
	hv := res("platform.hypervisor", "platform", reports.Pass, "", time.Minute)
	hv.Evidence = []reports.Evidence{{Step: "read hypervisor", Command: "systemd-detect-virt", Exit: ip(0), Output: "qemu", Expected: "qemu", Actual: "qemu", OK: bp(true), Duration: 40 * time.Millisecond}}
	if hyperv {
		hv.Evidence[0].Output, hv.Evidence[0].Expected, hv.Evidence[0].Actual = "microsoft", "microsoft", "microsoft"
	}
	pv := res("drivers.paravirtual", "drivers", reports.Pass, "", 2*time.Minute)
	pv.Evidence = []reports.Evidence{{Step: "list bound drivers", Command: "ls -l /sys/bus/*/drivers/*", Exit: ip(0), Output: "virtio_net virtio0\nvirtio_blk virtio1", OK: bp(true)}}
	cs := res("clock.source", "clock", reports.Skip, "clock source is tsc under emulation (TCG): no kvm-clock to expect", 3*time.Minute)
	cs.Evidence = []reports.Evidence{{Step: "read current_clocksource", Command: "cat /sys/devices/system/clocksource/clocksource0/current_clocksource", Exit: ip(0), Output: "tsc"}}
	if hyperv {
		cs.Status, cs.Reason = reports.Fail, "clocksource is tsc, expected hyperv_clocksource_tsc_page"
		cs.Evidence[0].Expected, cs.Evidence[0].Actual, cs.Evidence[0].OK = "hyperv_clocksource_tsc_page", "tsc", bp(false)
		cs.Evidence[0].Profile = "hyperv:clock.source.expected"
	}
	co := res("clock.offset", "clock", reports.Pass, "", 4*time.Minute)
	co.Evidence = []reports.Evidence{{Step: "offset vs controller (20 samples, RTT/2 corrected)", Command: "date +%s.%N", Exit: ip(0),
		Expected: "|offset| <= 0.050 s", Actual: "max |offset| 0.004 s", Tolerance: "0.050 s", Profile: "kvm-tcg:clock.offset.max_seconds", OK: bp(true)}}
	co.Measures = []reports.Measurement{{Name: "clock.offset", Unit: "s", Value: 0.004, Threshold: fp(0.05), Better: "lower", Source: "vcprobe", Series: clockSeries(0)}}
	if hyperv {
		co.Status, co.Reason = reports.Fail, "offset drifted to 0.061 s, tolerance 0.050 s"
		co.Evidence[0].Actual, co.Evidence[0].OK, co.Evidence[0].Profile = "max |offset| 0.061 s", bp(false), "hyperv:clock.offset.max_seconds"
		co.Measures[0].Value, co.Measures[0].Series = 0.061, clockSeries(0.003)
	}
	nl := res("network.link", "network", reports.Pass, "", 5*time.Minute)
	nl.Evidence = []reports.Evidence{{Step: "link state", Command: "ip -o link show eth0", Exit: ip(0), Output: "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500", OK: bp(true)}}
	nt := res("network.throughput", "network", reports.Pass, "", 6*time.Minute)
	thr := 940.0
	if hyperv {
		thr = 310
		nt.Status, nt.Reason = reports.Fail, "310 Mbit/s below the profile minimum 500 Mbit/s"
	}
	nt.Measures = []reports.Measurement{{Name: "tcp.throughput.guest_to_controller", Unit: "Mbit/s", Value: thr, Threshold: fp(500), Better: "higher", Source: "iperf3"}}
	nt.Evidence = []reports.Evidence{{Step: "iperf3 10 s", Command: "iperf3 -c 192.168.122.1 -t 10 -J", Exit: ip(0), Expected: ">= 500 Mbit/s", Actual: fmt.Sprintf("%.0f Mbit/s", thr), Tolerance: "profile minimum", Profile: "network.throughput.min_mbits", OK: bp(!hyperv)}}
	di := res("disk.integrity", "disk", reports.Pass, "", 7*time.Minute)
	di.Evidence = []reports.Evidence{{Step: "write pattern, drop caches, read back", Command: "vcprobe disk-pattern --size 64M /mnt/t", Exit: ip(0), Output: "sha256 ok", OK: bp(true)}}
	di.Measures = []reports.Measurement{{Name: "disk.write.throughput", Unit: "MB/s", Value: 180, Threshold: fp(50), Better: "higher", Source: "fio"}}
	cl := res("console.clean", "console", reports.Pass, "", 8*time.Minute)
	cl.Evidence = []reports.Evidence{{Step: "scan serial console for oops/panic", Command: "host: read console log", Output: Hostile, OK: bp(true)}}
	if hyperv {
		cl.Status, cl.Reason = reports.Error, "console log unavailable: simulator returned \x1b[1mHTTP 500\x1b[0m <b>boom</b>"
		cl.Evidence[0].OK = nil
	}
	return []*reports.Result{hv, pv, cs, co, nl, nt, di, cl}
}

// Synthetic returns a run of n results spread over 10 targets (5 hosts ×
// 2 images) with realistic evidence sizes, for benchmarks.
func Synthetic(n int) *reports.Run {
	run := &reports.Run{Schema: reports.SchemaVersion, ID: "vc-synthetic", Version: "bench", PlanHash: "00", Started: Epoch, Finished: Epoch.Add(time.Hour), Complete: true}
	const targets = 10
	areas := []string{"platform", "drivers", "clock", "network", "disk", "lifecycle", "console"}
	for ti := 0; ti < targets; ti++ {
		host := fmt.Sprintf("host%d", ti/2)
		img := fmt.Sprintf("image%d", ti%2)
		nat := drivers.NatureEmulated
		if ti/2 == 4 {
			nat = drivers.NatureSimulated
		}
		t := &reports.Target{ID: host + "/" + img, Host: host, Image: img, Profile: "p", Started: Epoch, Finished: Epoch.Add(time.Hour),
			HostInfo: drivers.HostInfo{Driver: "libvirt", Hypervisor: "qemu", Name: host, Nature: nat, Versions: map[string]string{"libvirt": "9.0.0"}},
			Guest:    reports.GuestInfo{Distro: "Debian 12", Kernel: "6.1", ImageSHA256: "ab"}}
		per := n / targets
		if ti < n%targets {
			per++
		}
		for i := 0; i < per; i++ {
			st := reports.Pass
			reason := ""
			switch {
			case (i+ti)%17 == 0:
				st, reason = reports.Fail, fmt.Sprintf("value %d out of tolerance", i)
			case (i*7+ti)%23 == 0:
				st, reason = reports.Skip, "capability DiskHotplug missing"
			case (i+3*ti)%41 == 0:
				st, reason = reports.Error, "transport: connection reset"
			}
			r := &reports.Result{Check: fmt.Sprintf("%s.check%04d", areas[i%len(areas)], i), Area: areas[i%len(areas)], Priority: 1 + i%3,
				Title: fmt.Sprintf("synthetic check %d", i), Status: st, Reason: reason, Started: Epoch.Add(time.Duration(i) * time.Second), Duration: 1234 * time.Millisecond,
				Evidence: []reports.Evidence{
					{Step: "run probe", Command: fmt.Sprintf("vcprobe sample --id %d", i), Exit: ip(0), Output: "line one of output\nline two of output <tag> & more", Duration: 20 * time.Millisecond},
					{Step: "compare", Expected: "<= 10", Actual: fmt.Sprint(i % 13), Tolerance: "10", Profile: "p:sample", OK: bp(st == reports.Pass)},
				}}
			if i%50 == 0 {
				r.Measures = []reports.Measurement{{Name: fmt.Sprintf("m%d", i%200), Unit: "MB/s", Value: float64(100 + ti), Threshold: fp(90), Better: "higher"}}
			}
			t.Results = append(t.Results, r)
		}
		run.Targets = append(run.Targets, t)
	}
	return run
}

// Control is a value with every kind of control character a hostile
// results.json or host could carry: ESC sequences, C0 and C1 controls, a
// bare carriage return and a newline.
const Control = "x\x1b[2J\x1b]0;title\x07\x01\x08\r\x9b31m\u0085\ny"

// HostileRun is Sample with Control appended to every string field (IDs,
// statuses, names, evidence, map keys and values), the input of the
// control-character tests of every writer.
func HostileRun() *reports.Run {
	run := Sample()
	poison(reflect.ValueOf(run).Elem())
	return run
}

func poison(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			v.SetString(v.String() + Control)
		}
	case reflect.Pointer:
		if !v.IsNil() {
			poison(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				poison(v.Field(i))
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			poison(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			k := reflect.New(v.Type().Key()).Elem()
			k.Set(it.Key())
			poison(k)
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(it.Value())
			poison(e)
			out.SetMapIndex(k, e)
		}
		if v.CanSet() {
			v.Set(out)
		}
	}
}

// FirstControl returns the byte index and the rune of the first control
// character in s that allowed does not list: a C0 control, DEL or a C1
// control (U+0080-U+009F; U+009B is a CSI to some terminals). It returns
// -1 when s has none. The no-control tests of every writer share it.
func FirstControl(s, allowed string) (int, rune) {
	for i, r := range s {
		if (r < 0x20 || r >= 0x7f && r < 0xa0) && !strings.ContainsRune(allowed, r) {
			return i, r
		}
	}
	return -1, 0
}

// SimulatedGuests is Sample with lab-kvm/tiny's guest declared a
// stand-in (a Linux guest playing Windows) and hyperv-sim/debian-12's
// identity query failed.
func SimulatedGuests() *reports.Run {
	run := Sample()
	g := &run.Targets[2].Guest
	g.Nature, g.Identity = drivers.NatureSimulated, "Linux guest playing Windows Server (winguestd)"
	run.Targets[1].Guest.IdentityError = "the identity query failed: exit 1: Get-ItemProperty : Access is denied."
	return run
}
