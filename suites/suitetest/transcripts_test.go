package suitetest_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
	_ "github.com/virtcert/virtcert/suites/clock"
	_ "github.com/virtcert/virtcert/suites/console"
	_ "github.com/virtcert/virtcert/suites/lifecycle"
	_ "github.com/virtcert/virtcert/suites/platform"
	_ "github.com/virtcert/virtcert/suites/pvdrivers"
	"github.com/virtcert/virtcert/suites/suitetest"
)

// mine are the check IDs this file covers; every one must have a PASS and
// a FAIL case below (TestEveryCheckFailsSomewhere).
var mine = []string{
	"platform.hypervisor", "platform.vmbus", "platform.vmbus-devices",
	"drivers.paravirtual", "drivers.modules", "drivers.initramfs", "drivers.guest-agent", "drivers.balloon",
	"clock.source", "clock.available", "clock.tsc-flags", "clock.kvmclock-msrs", "clock.hyperv-ptp",
	"clock.offset", "clock.drift", "clock.monotonic", "clock.ntp-sync", "clock.rtc",
	"clock.after-pause", "clock.after-save",
	"lifecycle.reboot", "lifecycle.host-reboot", "lifecycle.pause-resume", "lifecycle.save-restore", "lifecycle.shutdown",
	"console.clean",
}

type tc struct {
	platform, check string
	over            []string // transcript variants laid over the healthy set
	console         string   // console log name
	allow           string   // allow-list file
	nic             string   // Spec.NICModel
	mutate          func(*suites.Target, *suitetest.CapGuest)
	want            reports.Status
	reason          string // substring of the reason (FAIL/SKIP)
}

// fast shortens the timing values so waits end in a test's time.
func fast(tg *suites.Target, _ *suitetest.CapGuest) {
	o := &suites.Profile{Checks: map[string]map[string]any{
		// A healthy replay's clock is the test process's own, sampled over
		// 0.4 s: scheduling jitter on a loaded 2-core machine alone read as
		// -173 ppm against the profiles' 100. The faulty transcript runs
		// 250000 ppm fast at this interval, so 20000 still fails it 12x over.
		// TestDriftMeasuresTheRate holds the measured rates themselves.
		"clock.drift":            {"window_seconds": 0.4, "samples": 5, "max_ppm": 20000},
		"clock.after-pause":      {"pause_seconds": 0.01, "settle_seconds": 2},
		"clock.after-save":       {"settle_seconds": 2},
		"clock.ntp-sync":         {"ready_seconds": 0.1},
		"lifecycle.reboot":       {"max_seconds": 1},
		"lifecycle.host-reboot":  {"max_seconds": 1},
		"lifecycle.pause-resume": {"pause_seconds": 0.01},
		"lifecycle.shutdown":     {"max_seconds": 0.5, "restart_seconds": 1},
	}, Source: "test"}
	tg.Profile = tg.Profile.Override(o)
}

func cases() []tc {
	var cs []tc
	pass := func(p, id string) tc { return tc{platform: p, check: id, want: reports.Pass, console: "healthy.log"} }
	fail := func(p, id, reason string, over ...string) tc {
		return tc{platform: p, check: id, over: over, want: reports.Fail, reason: reason, console: "healthy.log"}
	}
	for _, p := range []string{"kvm", "hyperv-gen1", "hyperv-gen2"} {
		hv := strings.HasPrefix(p, "hyperv")
		for _, id := range mine {
			c := pass(p, id)
			switch {
			case hv && (id == "drivers.guest-agent" || id == "clock.kvmclock-msrs"):
				c.want, c.reason = reports.NA, "not for hyperv guests (kvm/qemu only)"
			case !hv && (id == "platform.vmbus" || id == "platform.vmbus-devices" || id == "clock.hyperv-ptp"):
				c.want, c.reason = reports.NA, "not for kvm guests (hyperv only)"
			}
			if id == "lifecycle.reboot" || id == "lifecycle.host-reboot" || id == "lifecycle.shutdown" {
				c.over = []string{"lifecycle/reboot.txt"}
			}
			cs = append(cs, c)
		}
		f := []tc{
			fail(p, "drivers.paravirtual", "unbound", "drivers/faulty-unbound.txt"),
			fail(p, "drivers.paravirtual", "no device bound", "drivers/faulty-emulated-nic.txt"),
			fail(p, "drivers.modules", "not loaded", "drivers/faulty-unbound.txt"),
			fail(p, "drivers.initramfs", "absent from the initramfs", "drivers/faulty-initramfs.txt"),
			fail(p, "drivers.balloon", "balloon device bound", "drivers/faulty-balloon.txt"),
			fail(p, "clock.source", "current_clocksource", "clock/faulty-source.txt"),
			fail(p, "clock.available", "includes", "clock/faulty-source.txt"),
			fail(p, "clock.tsc-flags", "constant_tsc", "clock/faulty-tsc.txt"),
			fail(p, "clock.offset", "offset", "clock/faulty-skew.txt"),
			fail(p, "clock.ntp-sync", "chronyd stopped", "clock/faulty-chrony-stopped.txt"),
			fail(p, "clock.ntp-sync", "leap status", "clock/faulty-unsync.txt"),
			fail(p, "clock.ntp-sync", "leap status", "clock/unreachable-source.txt"),
			fail(p, "clock.rtc", "RTC", "clock/faulty-rtc.txt"),
			fail(p, "clock.drift", "clock rate", "clock/faulty-drift.txt"),
			fail(p, "clock.monotonic", "decreases", "clock/faulty-monotonic.txt"),
			fail(p, "clock.after-pause", "offset after pause/resume", "clock/faulty-resume.txt"),
			fail(p, "clock.after-save", "offset after save/restore", "clock/faulty-resume.txt"),
			// The agent cannot set the time and chronyd is too slow: FAIL.
			{platform: p, check: "clock.after-pause", over: []string{"clock/faulty-resume.txt"}, want: reports.Fail, reason: "offset after pause/resume", console: "healthy.log",
				mutate: func(tg *suites.Target, g *suitetest.CapGuest) {
					g.SetTimeErr = drivers.Errorf(drivers.ClassGuest, "set guest time", "Guest agent is not responding: QEMU guest agent is not connected")
				}},
			// Nothing could bring the clock back (no agent, no time
			// service): not judged, SKIP with the reason.
			{platform: p, check: "clock.after-save", over: []string{"clock/absent-timesync.txt"}, want: reports.Skip, reason: "nothing in the guest resyncs its clock", console: "healthy.log",
				mutate: func(tg *suites.Target, g *suitetest.CapGuest) {
					g.SetTimeErr = drivers.Errorf(drivers.ClassGuest, "set guest time", "Guest agent is not responding: QEMU guest agent is not connected")
				}},
			fail(p, "lifecycle.reboot", "boot_id changed", "lifecycle/faulty-no-reboot.txt"),
			fail(p, "lifecycle.host-reboot", "boot_id changed", "lifecycle/faulty-no-reboot.txt"),
			fail(p, "lifecycle.pause-resume", "boot_id unchanged", "lifecycle/faulty-resume-reboot.txt"),
			fail(p, "lifecycle.save-restore", "synced disk write", "lifecycle/faulty-disk.txt"),
			{platform: p, check: "lifecycle.shutdown", want: reports.Fail, reason: "guest off", console: "healthy.log",
				mutate: func(tg *suites.Target, g *suitetest.CapGuest) { g.IgnoreShutdown = true }},
			{platform: p, check: "clock.ntp-sync", over: []string{"clock/absent-chrony.txt"}, want: reports.Skip, reason: "chrony is not installed", console: "healthy.log"},
		}
		for _, log := range []string{"faulty-panic.log", "faulty-warning.log", "faulty-io.log", "faulty-emergency.log"} {
			f = append(f, tc{platform: p, check: "console.clean", console: log, want: reports.Fail, reason: "console line"})
		}
		if hv {
			f = append(f,
				fail(p, "platform.vmbus", "Vmbus version", "platform/faulty-novmbus.txt"),
				fail(p, "platform.vmbus-devices", "no VMBus devices", "platform/faulty-novmbus.txt"),
				fail(p, "platform.vmbus-devices", "Heartbeat", "platform/faulty-no-kvp.txt"),
				fail(p, "clock.hyperv-ptp", "PTP clock_name", "clock/faulty-ptp.txt"))
		} else {
			f = append(f,
				fail(p, "platform.hypervisor", "systemd-detect-virt", "platform/faulty-emulated.txt"),
				fail(p, "drivers.guest-agent", "qemu-ga process", "drivers/faulty-agent.txt"),
				tc{platform: p, check: "drivers.guest-agent", over: []string{"drivers/absent-agent.txt"}, want: reports.Skip, reason: "not installed in the guest", console: "healthy.log"},
				// Installed but stopped: FAIL even though the host's
				// question cannot be answered either.
				tc{platform: p, check: "drivers.guest-agent", over: []string{"drivers/faulty-agent.txt"}, want: reports.Fail, reason: "qemu-ga process", console: "healthy.log",
					mutate: func(tg *suites.Target, g *suitetest.CapGuest) {
						g.ClockErr = drivers.Errorf(drivers.ClassGuest, "guest time", "Guest agent is not responding: QEMU guest agent is not connected")
					}},
				// A host/libvirt failure asking the agent is the harness's ERROR.
				tc{platform: p, check: "drivers.guest-agent", want: reports.Error, reason: "could not ask the guest agent", console: "healthy.log",
					mutate: func(tg *suites.Target, g *suitetest.CapGuest) {
						g.ClockErr = errors.New("libvirt: connection reset by peer")
					}},
				tc{platform: p, check: "drivers.balloon", over: []string{"drivers/absent-balloon.txt"}, want: reports.Skip, reason: "no balloon device", console: "healthy.log"},
				tc{platform: p, check: "drivers.guest-agent", want: reports.Fail, reason: "no answer", console: "healthy.log",
					mutate: func(tg *suites.Target, g *suitetest.CapGuest) {
						g.ClockErr = drivers.Errorf(drivers.ClassGuest, "guest time", "guest agent not responding")
					}},
				fail(p, "clock.kvmclock-msrs", "kvm-clock MSRs", "clock/faulty-kvmclock.txt"),
				tc{platform: p, check: "drivers.paravirtual", nic: "e1000", over: []string{"drivers/faulty-emulated-nic.txt"}, want: reports.Fail, reason: "", console: "healthy.log"})
		}
		cs = append(cs, f...)
	}
	// The Hyper-V gen1 floppy line is hidden by the default allow-list,
	// and shown again by an expired entry.
	cs = append(cs,
		tc{platform: "hyperv-gen1", check: "console.clean", console: "allowed-floppy.log", allow: "../../fixtures/console-allow.yaml", want: reports.Pass},
		tc{platform: "hyperv-gen1", check: "console.clean", console: "allowed-floppy.log", allow: "testdata/allow-expired.yaml", want: reports.Fail, reason: "I/O error"},
		tc{platform: "hyperv-gen1", check: "console.clean", console: "allowed-floppy.log", want: reports.Fail, reason: "I/O error"},
	)
	return cs
}

func run(t *testing.T, c tc) *reports.Result {
	t.Helper()
	root, err := suitetest.Root()
	if err != nil {
		t.Fatal(err)
	}
	x, err := suitetest.Platform(root, c.platform, c.over...)
	if err != nil {
		t.Fatal(err)
	}
	logb, err := suitetest.ReadConsole(root, c.platform, c.console)
	if err != nil {
		t.Fatal(err)
	}
	g := &suitetest.CapGuest{Guest: &suitetest.Guest{GuestName: "t", ConsoleLog: logb}}
	tg, err := suitetest.Target(c.platform, x, g)
	if err != nil {
		t.Fatal(err)
	}
	tg.Spec.NICModel = c.nic
	tg.ConsoleAllow = c.allow
	fast(tg, g)
	if c.mutate != nil {
		c.mutate(tg, g)
	}
	if g.Running == nil {
		g.Running = suitetest.HostReport(tg.Spec) // the host reports what it provisioned
	}
	r, err := suitetest.Execute(c.check, tg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestTranscripts(t *testing.T) {
	for _, c := range cases() {
		name := fmt.Sprintf("%s/%s/%s%s", c.platform, c.check, strings.Join(c.over, "+"), c.console+c.nic+filepath.Base(c.allow))
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := run(t, c)
			if r.Status != c.want || !strings.Contains(r.Reason, c.reason) {
				t.Fatalf("want %s (%q), got\n%s", c.want, c.reason, suitetest.Describe(r))
			}
			if r.Status == reports.Pass || r.Status == reports.Fail {
				// Every verdict carries evidence with expected vs actual.
				judged := 0
				for _, e := range r.Evidence {
					if e.OK != nil {
						judged++
						if e.Expected == "" || e.Profile == "" {
							t.Errorf("judged evidence without expected value or profile: %+v", e)
						}
					}
				}
				if judged == 0 {
					t.Errorf("verdict without judged evidence:\n%s", suitetest.Describe(r))
				}
			}
		})
	}
}

// TestEveryCheckFailsSomewhere: each check has at least one transcript
// where it FAILs and one where it PASSes.
func TestEveryCheckFailsSomewhere(t *testing.T) {
	got := map[string]map[reports.Status]bool{}
	for _, c := range cases() {
		if got[c.check] == nil {
			got[c.check] = map[reports.Status]bool{}
		}
		got[c.check][c.want] = true
	}
	for _, id := range mine {
		if _, ok := suites.Lookup(id); !ok {
			t.Errorf("%s not registered", id)
		}
		if !got[id][reports.Fail] || !got[id][reports.Pass] {
			t.Errorf("%s: cases PASS=%v FAIL=%v, want both", id, got[id][reports.Pass], got[id][reports.Fail])
		}
	}
}

// TestSideBySide runs the same check IDs over the same distribution's
// transcripts on KVM and on Hyper-V: per-hypervisor verdicts, one table.
func TestSideBySide(t *testing.T) {
	plats := []string{"kvm", "hyperv-gen1", "hyperv-gen2"}
	table := map[string][]reports.Status{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, id := range mine {
		table[id] = make([]reports.Status, len(plats))
		for i, p := range plats {
			c := tc{platform: p, check: id, console: "healthy.log"}
			if id == "lifecycle.reboot" || id == "lifecycle.host-reboot" || id == "lifecycle.shutdown" {
				c.over = []string{"lifecycle/reboot.txt"}
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := run(t, c).Status
				mu.Lock()
				table[id][i] = st
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	var b strings.Builder
	fmt.Fprintf(&b, "%-24s %-6s %-12s %-12s\n", "check", "kvm", "hyperv-gen1", "hyperv-gen2")
	ids := append([]string(nil), mine...)
	sort.Strings(ids)
	for _, id := range ids {
		s := table[id]
		fmt.Fprintf(&b, "%-24s %-6s %-12s %-12s\n", id, s[0], s[1], s[2])
	}
	t.Logf("side by side:\n%s", b.String())
	want := map[string][3]reports.Status{
		"clock.kvmclock-msrs":    {reports.Pass, reports.NA, reports.NA},
		"clock.hyperv-ptp":       {reports.NA, reports.Pass, reports.Pass},
		"platform.vmbus-devices": {reports.NA, reports.Pass, reports.Pass},
		"drivers.paravirtual":    {reports.Pass, reports.Pass, reports.Pass},
	}
	for id, w := range want {
		if s := table[id]; s[0] != w[0] || s[1] != w[1] || s[2] != w[2] {
			t.Errorf("%s: got %v, want %v", id, s, w)
		}
	}
	// The same check judges different values per hypervisor: the evidence
	// of clock.source names kvm-clock on KVM and the TSC page on Hyper-V.
	for p, want := range map[string]string{"kvm": "kvm-clock", "hyperv-gen2": "hyperv_clocksource_tsc_page"} {
		r := run(t, tc{platform: p, check: "clock.source", console: "healthy.log"})
		found := false
		for _, e := range r.Evidence {
			if e.OK != nil && e.Actual == want && strings.HasPrefix(e.Profile, p+":clock.source") {
				found = true
			}
		}
		if !found {
			t.Errorf("%s clock.source evidence lacks %s:\n%s", p, want, suitetest.Describe(r))
		}
	}
}

// TestProfilesCoverChecks: every key a check declares exists in every
// built-in profile that applies to it, and profile.yaml's hypervisor is
// one the platform.hypervisor check accepts.
func TestProfilesCoverChecks(t *testing.T) {
	ps, err := suites.BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	var mineChecks []suites.Check
	for _, id := range mine {
		c, _ := suites.Lookup(id)
		mineChecks = append(mineChecks, c)
	}
	for _, name := range []string{"kvm", "kvm-tcg", "hyperv-gen1", "hyperv-gen2"} {
		p := ps[name]
		if p == nil {
			t.Fatalf("no built-in profile %s", name)
		}
		if p.Host == "" || p.Hypervisor == "" || p.Title == "" || strings.Contains(p.Title, "TODO") {
			t.Errorf("%s: incomplete header %+v", name, p)
		}
		// Only this area's checks: other areas' profile files are theirs.
		sub := &suites.Profile{Name: p.Name, Host: p.Host, Checks: map[string]map[string]any{}}
		for _, c := range mineChecks {
			if kv, ok := p.Checks[c.ID]; ok {
				sub.Checks[c.ID] = kv
			}
		}
		if err := sub.Validate(mineChecks); err != nil {
			t.Error(err)
		}
		exp, err := p.Strings("platform.hypervisor", "expect")
		if err != nil || !contains(exp, p.Hypervisor) {
			t.Errorf("%s: hypervisor %q not in platform.hypervisor.expect %v (%v)", name, p.Hypervisor, exp, err)
		}
		for _, c := range mineChecks {
			if len(c.Keys) == 0 && c.ID != "console.clean" && c.ID != "drivers.guest-agent" {
				t.Errorf("%s declares no profile keys", c.ID)
			}
		}
	}
	// Validation really catches a missing key.
	broken := ps["kvm"].Override(&suites.Profile{Checks: map[string]map[string]any{}})
	delete(broken.Checks["clock.offset"], "max_seconds")
	if err := broken.Validate(mineChecks); err == nil || !strings.Contains(err.Error(), "clock.offset.max_seconds missing") {
		t.Errorf("Validate missed a missing key: %v", err)
	}
}

// TestUndeclaredKeyIsError: a check reading a key it did not declare ends
// in ERROR, so profile validation cannot be bypassed.
func TestUndeclaredKeyIsError(t *testing.T) {
	c := suites.Check{ID: "test.undeclared", Area: "clock", Title: "t", Keys: []string{"a"}, Timeout: time.Second,
		Run: func(t *suites.T) { t.Float("b") }}
	p := &suites.Profile{Name: "p", Checks: map[string]map[string]any{"test.undeclared": {"a": 1, "b": 2}}}
	r := suites.Execute(t.Context(), c, &suites.Target{Profile: p})
	if r.Status != reports.Error || !strings.Contains(r.Reason, "does not declare") {
		t.Fatalf("got %s %s", r.Status, r.Reason)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestMain(m *testing.M) {
	// The tests use the repository's fixtures; without them there is
	// nothing to run against.
	if _, err := suitetest.Root(); err != nil {
		fmt.Println("skip: ", err)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var _ = drivers.StateOff

// TestCapturedTCG replays the transcripts captured from the real tiny guest
// on the lab (kvm-tcg): what the guest really showed, judged again.
func TestCapturedTCG(t *testing.T) {
	want := map[string]reports.Status{
		"platform.hypervisor": reports.Pass, "drivers.paravirtual": reports.Pass, "drivers.modules": reports.Pass,
		"drivers.initramfs": reports.Skip, "drivers.balloon": reports.Pass,
		// The tiny guest has no qemu-ga although the domain defines its channel.
		"drivers.guest-agent": reports.Fail,
		"clock.source":        reports.Pass, "clock.kvmclock-msrs": reports.Skip, "clock.available": reports.Pass,
		"clock.tsc-flags": reports.Pass, "clock.ntp-sync": reports.Skip, "clock.rtc": reports.Pass,
		"clock.offset": reports.Pass, "clock.monotonic": reports.Pass,
		// The captured date record answers every clock read, so the
		// transcript cannot show the offset a real restore leaves; the
		// live tiny guest SKIPs this (no agent, no time service: e2e).
		"clock.after-save":       reports.Pass,
		"lifecycle.pause-resume": reports.Pass, "lifecycle.save-restore": reports.Pass,
	}
	for id, w := range want {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			r := run(t, tc{platform: "kvm-tcg", check: id, console: "healthy.log", mutate: func(tg *suites.Target, _ *suitetest.CapGuest) {
				tg.Spec.MemoryMB = 256 // the captured tiny guest's memory
			}})
			if r.Status != w {
				t.Fatalf("want %s, got\n%s", w, suitetest.Describe(r))
			}
		})
	}
	// The real fault, captured: virtio_blk never loaded on the tiny guest.
	r := run(t, tc{platform: "kvm-tcg", check: "drivers.paravirtual", over: []string{"drivers/faulty-noload-blk.txt"}, console: "healthy.log"})
	if r.Status != reports.Fail || !strings.Contains(r.Reason, "virtio3 (block, id 0x0002): expected bound to virtio_blk, got unbound") {
		t.Fatalf("captured noload=virtio_blk:\n%s", suitetest.Describe(r))
	}
	// The Debian 12 fixture guest captured on the lab.
	deb := []string{"platform/debian.txt", "drivers/debian.txt", "clock/debian.txt"}
	for id, w := range map[string]reports.Status{
		"platform.hypervisor": reports.Pass, "drivers.paravirtual": reports.Pass, "drivers.guest-agent": reports.Pass,
		"drivers.balloon": reports.Pass, "clock.source": reports.Pass, "clock.available": reports.Pass, "clock.tsc-flags": reports.Pass,
		"clock.ntp-sync": reports.Skip, "clock.rtc": reports.Pass, "console.clean": reports.Pass,
	} {
		r := run(t, tc{platform: "kvm-tcg", check: id, over: deb, console: "debian.log", mutate: func(tg *suites.Target, _ *suitetest.CapGuest) {
			tg.Spec.MemoryMB = 1024 // the Debian guest's memory
		}})
		if r.Status != w {
			t.Errorf("Debian %s: want %s, got\n%s", id, w, suitetest.Describe(r))
		}
	}
	// The real console of that guest is clean.
	if r := run(t, tc{platform: "kvm-tcg", check: "console.clean", console: "healthy.log"}); r.Status != reports.Pass {
		t.Fatalf("captured console:\n%s", suitetest.Describe(r))
	}
}

// TestDriftMeasuresTheRate: clock.drift's transcript cases run at a loose
// 20000 ppm (see fast), so their PASS/FAIL alone would not notice a fit
// that got the rate's sign or scale wrong. The faulty transcript's clock
// runs 5% fast ({{now*1.05}}, +50000 ppm): the measured rate must be
// that; the healthy replay's must stay near zero, well inside the
// tolerance.
func TestDriftMeasuresTheRate(t *testing.T) {
	for _, c := range []struct {
		over     []string
		min, max float64
	}{
		{[]string{"clock/faulty-drift.txt"}, 49000, 51000},
		{nil, -5000, 5000},
	} {
		r := run(t, tc{platform: "kvm", check: "clock.drift", over: c.over, console: "healthy.log"})
		var ppm []float64
		for _, m := range r.Measures {
			if m.Name == "clock.drift" {
				ppm = append(ppm, m.Value)
			}
		}
		if len(ppm) != 1 || ppm[0] < c.min || ppm[0] > c.max {
			t.Errorf("%v: measured %v ppm, want one value in [%g, %g]\n%s", c.over, ppm, c.min, c.max, suitetest.Describe(r))
		}
	}
}
