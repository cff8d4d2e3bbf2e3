package parse

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func transcript(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "transcripts", rel))
	if err != nil {
		t.Skipf("transcript %s: %v", rel, err)
	}
	return string(b)
}

func TestBusDevices(t *testing.T) {
	devs := BusDevices(transcript(t, "kvm/drivers/faulty-unbound.txt"))
	if len(devs) != 5 || devs[0].Name != "virtio0" || devs[0].Kind != "net" || devs[0].Bound() || devs[0].Want != "virtio_net" {
		t.Fatalf("%+v", devs)
	}
	if devs[2].Driver != "virtio_blk" || devs[2].Kind != "block" {
		t.Fatalf("%+v", devs[2])
	}
	hv := BusDevices(transcript(t, "hyperv-gen1/drivers/healthy.txt"))
	kinds := map[string]string{}
	for _, d := range hv {
		kinds[d.Kind] = d.Driver
	}
	for k, want := range map[string]string{"net": "hv_netvsc", "scsi": "hv_storvsc", "ide": "hv_storvsc", "kvp": "hv_utils", "balloon": "hv_balloon"} {
		if kinds[k] != want {
			t.Errorf("vmbus %s bound to %q, want %q", k, kinds[k], want)
		}
	}
}

func TestDmesg(t *testing.T) {
	ls := Dmesg("<6>[    1.180354] hv_vmbus: Vmbus version:5.3\n[    0.000000] Hypervisor detected: Microsoft Hyper-V\nno stamp\n[    0.000000] kvm-clock: Using msrs 4B564D01 and 4b564d00")
	if ls[0].Time != 1.180354 || ls[2].Time != -1 || VMBusVersion(ls) != "5.3" || HypervisorDetected(ls) != "Microsoft Hyper-V" {
		t.Fatalf("%+v", ls)
	}
	if m := KVMClockMSRs(ls); len(m) != 2 || m[0] != "4b564d01" {
		t.Fatalf("%v", m)
	}
}

func TestModules(t *testing.T) {
	m := Modules("Module                  Size  Used by\nvirtio_net             69632  0\nnet_failover           24576  1 virtio_net\nfailover 16384 1 net_failover, Live 0x0\n")
	if m["virtio_net"].Size != 69632 || m["net_failover"].Refs != 1 || len(m["failover"].UsedBy) != 1 {
		t.Fatalf("%+v", m)
	}
	s := ModuleSet("kernel/drivers/net/virtio_net.ko.xz\nusr/lib/modules/6.1/kernel/drivers/hid/hid-hyperv.ko\n")
	if !s["virtio_net"] || !s["hid_hyperv"] {
		t.Fatalf("%v", s)
	}
}

func TestChrony(t *testing.T) {
	tr := ChronyTracking("Reference ID    : C0A89601 (192.168.150.1)\nStratum         : 3\nSystem time     : 0.000021473 seconds slow of NTP time\nFrequency       : 8.154 ppm slow\nLeap status     : Normal\n")
	if !tr.Synchronised() || tr.RefName != "192.168.150.1" || tr.SystemOffset != -0.000021473 || tr.FreqPPM != -8.154 || tr.Stratum != 3 {
		t.Fatalf("%+v", tr)
	}
	if d := ChronyTracking("506 Cannot talk to daemon\n"); !d.DaemonDown || d.Synchronised() {
		t.Fatalf("%+v", d)
	}
	// Captured on the lab (the Debian guest through the existing driver,
	// 2026-12-03): "+0.000046506 seconds" once made a healthy chronyd read
	// as "506 Cannot talk to daemon" and clock.ntp-sync FAIL.
	b, err := os.ReadFile("testdata/chronyc-tracking-506-digits.txt")
	if err != nil {
		t.Fatal(err)
	}
	if d := ChronyTracking(string(b)); d.DaemonDown || !d.Synchronised() {
		t.Fatalf("a figure ending in 506 read as chronyc's error: %+v", d)
	}
	if d := ChronyTracking("  506 Cannot talk to daemon\r\n"); !d.DaemonDown {
		t.Fatalf("%+v", d)
	}
	if u := ChronyTracking("Reference ID    : 00000000 ()\nLeap status     : Not synchronised\n"); u.Synchronised() || !u.Valid {
		t.Fatalf("%+v", u)
	}
	ss := ChronySources("MS Name/IP address Stratum Poll Reach LastRx Last sample\n=====\n^* 192.168.150.1 2 6 377 23 +12us[ +33us] +/- 11ms\n^? 10.0.0.1 0 6 0 - +0ns[ +0ns] +/- 0ns\n")
	if len(ss) != 2 || !ss[0].Selected || !ss[0].Reachable() || ss[1].Reachable() {
		t.Fatalf("%+v", ss)
	}
}

func TestClockParsers(t *testing.T) {
	if tm, p, ok := EpochSeconds("1732233600.5\n"); !ok || !p || tm.UnixNano() != 1732233600500000000 {
		t.Fatal(tm, p, ok)
	}
	if _, p, ok := EpochSeconds("1732233600.N"); !ok || p {
		t.Fatal("busybox %N")
	}
	want := time.Date(2026, 11, 21, 23, 45, 12, 0, time.UTC)
	for _, s := range []string{"1795304712", "2026-11-21 23:45:12.000000+00:00", "2026-11-22 01:45:12+02:00", "Sat Nov 21 23:45:12 2026  0.000000 seconds"} {
		if got, ok := RTCTime(s); !ok || !got.Equal(want) {
			t.Errorf("RTCTime(%q) = %v %v", s, got, ok)
		}
	}
	if n, w := Backwards([]float64{1, 2, 1.5, 3}); n != 1 || w != 0.5 {
		t.Fatal(n, w)
	}
}

// SummarizeClock recovers a known offset and rate, and ignores one sample
// delayed by a slow round trip.
func TestSummarizeClock(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	var s []ClockSample
	for i := 0; i < 11; i++ {
		sent := t0.Add(time.Duration(i) * time.Second)
		rtt := 2 * time.Millisecond
		if i == 5 {
			rtt = 400 * time.Millisecond // a slow sample; the guest read its clock early
		}
		mid := sent.Add(rtt / 2)
		g := mid.Add(3*time.Second + time.Duration(float64(i)*50e3)) // +3 s and +50 ppm
		if i == 5 {
			g = sent.Add(3 * time.Second)
		}
		s = append(s, ClockSample{Sent: sent, Recv: sent.Add(rtt), Guest: g, Precise: true})
	}
	sum := SummarizeClock(s)
	if math.Abs(sum.Offset.Seconds()-3.0003) > 0.001 || math.Abs(sum.DriftPPM-50) > 2 || sum.MinRTT != 2*time.Millisecond || !sum.Precise {
		t.Fatalf("%+v", sum)
	}
}

func TestScanConsole(t *testing.T) {
	al, err := ParseAllowList([]byte("allow:\n  - pattern: 'dev fd0'\n    reason: floppy\n    expires: 2026-11-21\n"), "t")
	if err != nil {
		t.Fatal(err)
	}
	text := CleanConsole([]byte("ok\r\n[ 3.4] blk_update_request: I/O error, dev fd0, sector 0\n\x1b[31m[ 9.9] Kernel panic - not syncing: x\x1b[0m\n"))
	in := ScanConsole(text, al, time.Date(2026, 11, 21, 23, 0, 0, 0, time.UTC))
	if len(in) != 2 || in[0].Allowed == nil || in[1].Pattern != "kernel panic" || in[1].Line != 3 {
		t.Fatalf("%+v", in)
	}
	out := ScanConsole(text, al, time.Date(2026, 11, 22, 0, 0, 1, 0, time.UTC))
	if out[0].Allowed != nil || len(out[0].Expired) != 1 {
		t.Fatalf("expired entry still hides: %+v", out[0])
	}
	for _, bad := range []string{"allow: [{pattern: x, reason: r}]", "allow: [{pattern: '(', reason: r, expires: 2030-01-01}]", "allow: [{pattern: x, reason: '', expires: 2030-01-01}]", "allow: [{pattern: x, reason: r, expires: tomorrow}]", "nope: 1"} {
		if _, err := ParseAllowList([]byte(bad), "t"); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if !strings.Contains(CleanConsole([]byte("a\x1b[b\x1b[1")), "a") || strings.Contains(CleanConsole([]byte("a\x1b[b\x1b[1")), "\x1b") {
		t.Fatal("bare escape left")
	}
}
