package windows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/suitetest"
	"github.com/virtcert/virtcert/suites/windows"
)

// profileOf is the built-in profile each Windows transcript platform is
// judged with.
var profileOf = map[string]string{"windows-kvm": "kvm", "windows-hyperv-gen2": "hyperv-gen2"}

type tc struct {
	plat, check string
	over        []string
	want        reports.Status
	reason      string
	// values override the profile (short limits for checks that wait).
	values map[string]any
	mutate func(g *suitetest.CapGuest)
}

func run(t *testing.T, c tc) *reports.Result {
	t.Helper()
	root, err := suitetest.Root()
	if err != nil {
		t.Fatal(err)
	}
	x, err := suitetest.Platform(root, c.plat, c.over...)
	if err != nil {
		t.Fatal(err)
	}
	g := &suitetest.CapGuest{Guest: &suitetest.Guest{GuestName: "win"}}
	if c.mutate != nil {
		c.mutate(g)
	}
	tg, err := suitetest.Target(profileOf[c.plat], x, g)
	if err != nil {
		t.Fatal(err)
	}
	tg.Controller = "192.0.2.1"
	// The pause itself is the host's; replayed, it need not last.
	over := map[string]map[string]any{"windows.lifecycle.pause-resume": {"pause_seconds": 0}}
	if c.values != nil {
		over[c.check] = c.values
	}
	tg.Profile = tg.Profile.Override(&suites.Profile{Name: "test", Checks: over})
	ch, ok := suites.Lookup(c.check)
	if !ok {
		t.Fatalf("no check %s", c.check)
	}
	if ok, why := ch.AppliesTo(tg.HostInfo.Hypervisor, "windows"); !ok {
		t.Fatalf("%s does not apply to %s: %s", c.check, c.plat, why)
	}
	return suites.Execute(context.Background(), ch, tg)
}

func TestMain(m *testing.M) {
	windows.SetSleep(func(context.Context, time.Duration) {}) // drift windows and settle polls take no time
	m.Run()
}

// TestWindowsTranscripts replays every Windows check on the constructed
// transcripts (none captured; fixtures/transcripts/windows-*/SOURCES.md):
// PASS on each platform's healthy set, FAIL on each fault it exists to
// catch, and ERROR (never FAIL) on a harness fault.
func TestWindowsTranscripts(t *testing.T) {
	const k, h = "windows-kvm", "windows-hyperv-gen2"
	fail := func(plat, check, over, reason string) tc {
		return tc{plat: plat, check: check, over: []string{over}, want: reports.Fail, reason: reason}
	}
	cases := []tc{
		fail(k, "windows.platform.hypervisor", "platform/no-hypervisor.txt", "HypervisorPresent"),
		fail(h, "windows.platform.firmware", "platform/bios-boot.txt", "firmware type"),
		fail(h, "windows.platform.secure-boot", "platform/secure-boot-off.txt", `got "off"`),
		fail(h, "windows.platform.secure-boot", "platform/bios-boot.txt", "unsupported"),
		fail(k, "windows.drivers.present", "drivers/missing-netkvm.txt", "device driven by netkvm"),
		fail(k, "windows.drivers.present", "disk/emulated-sata.txt", "viostor|vioscsi"),
		fail(k, "windows.drivers.signed", "drivers/unsigned-viostor.txt", "IsSigned false"),
		fail(k, "windows.drivers.signed", "drivers/missing-netkvm.txt", "signed driver for netkvm"),
		fail(k, "windows.drivers.running", "drivers/stopped-balloon.txt", "State Stopped"),
		fail(k, "windows.drivers.running", "drivers/missing-netkvm.txt", "system driver netkvm"),
		fail(k, "windows.drivers.problem-devices", "drivers/missing-netkvm.txt", "code 28 (driver not installed)"),
		fail(k, "windows.drivers.agent", "drivers/stopped-balloon.txt", "Status Stopped"),
		fail(k, "windows.clock.w32time", "clock/w32time-stopped.txt", "Status Stopped"),
		fail(k, "windows.clock.source", "clock/free-running.txt", "Free-running System Clock"),
		fail(k, "windows.clock.source", "clock/w32time-stopped.txt", "0x80070426"),
		fail(h, "windows.clock.source", "hyperv/ic-stopped.txt", "Local CMOS Clock"),
		fail(k, "windows.clock.sync-status", "clock/free-running.txt", "Leap Indicator"),
		fail(k, "windows.clock.sync-status", "clock/w32time-stopped.txt", "a status report"),
		fail(k, "windows.clock.offset", "clock/skewed.txt", "median offset"),
		fail(k, "windows.clock.drift", "clock/drifting.txt", "drift over the window"),
		fail(k, "windows.clock.after-pause", "clock/stuck-after-pause.txt", "offset after pause/resume"),
		fail(k, "windows.clock.after-restore", "clock/stuck-after-pause.txt", "offset after save/restore"),
		fail(k, "windows.network.link", "network/link-down.txt", "physical adapters Up"),
		fail(k, "windows.network.link", "network/apipa.txt", "169.254.12.7"),
		fail(k, "windows.network.link", "drivers/missing-netkvm.txt", "physical adapters Up"),
		fail(k, "windows.network.mtu", "network/mtu-1400.txt", "got 1400"),
		fail(k, "windows.network.offloads", "network/offloads-off.txt", "checksum offload"),
		fail(k, "windows.network.reachability", "network/unreachable.txt", "0 of 10 replies"),
		fail(k, "windows.disk.driver", "disk/emulated-sata.txt", "viostor|vioscsi"),
		fail(k, "windows.disk.state", "disk/read-only.txt", "IsReadOnly true"),
		fail(k, "windows.disk.integrity", "disk/read-only.txt", "The media is write protected"),
		fail(k, "windows.disk.integrity", "disk/corrupt.txt", "SHA-256 written = SHA-256 read back"),
		{plat: k, check: "windows.disk.integrity", over: []string{"disk/misaligned.txt"}, want: reports.Error, reason: "harness fault"},
		fail(k, "windows.disk.throughput", "disk/slow.txt", "sequential write"),
		fail(k, "windows.disk.trim", "disk/trim-disabled.txt", "DisableDeleteNotify"),
		fail(k, "windows.disk.trim", "disk/trim-unsupported.txt", "0x8900002A"),
		fail(k, "windows.events.bugcheck", "events/bugcheck.txt", "0x000000d1"),
		fail(k, "windows.events.unexpected-shutdown", "events/bugcheck.txt", "Kernel-Power 41"),
		fail(k, "windows.events.unexpected-shutdown", "events/power-loss.txt", "Kernel-Power 41"),
		fail(k, "windows.events.disk-errors", "events/disk-153.txt", "disk 153"),
		fail(h, "windows.hyperv.heartbeat", "hyperv/ic-stopped.txt", "vmicheartbeat"),
		fail(h, "windows.hyperv.kvp", "hyperv/ic-stopped.txt", "vmickvpexchange"),
		fail(h, "windows.hyperv.timesync", "hyperv/ic-stopped.txt", "vmictimesync"),
		fail(h, "windows.hyperv.vss", "hyperv/ic-stopped.txt", "vmicvss"),
		{plat: k, check: "windows.lifecycle.reboot", over: []string{"lifecycle/no-reboot.txt"}, want: reports.Fail, reason: "boot_id changed",
			values: map[string]any{"max_seconds": 3}},
		fail(k, "windows.lifecycle.pause-resume", "lifecycle/rebooted-on-resume.txt", "boot_id unchanged"),
		fail(k, "windows.lifecycle.pause-resume", "lifecycle/read-only-after-resume.txt", "synced disk write"),
		fail(k, "windows.lifecycle.save-restore", "lifecycle/rebooted-on-resume.txt", "boot_id unchanged"),
		{plat: k, check: "windows.lifecycle.shutdown", want: reports.Fail, reason: "guest off", values: map[string]any{"max_seconds": 1, "restart_seconds": 5},
			mutate: func(g *suitetest.CapGuest) { g.IgnoreShutdown = true }}, // "IgnoreShutdown"
	}
	runCases(t, cases)
}

// runCases runs each case as a subtest: its verdict and reason are the
// case's, and carry evidence.
func runCases(t *testing.T, cases []tc) {
	t.Helper()
	for _, c := range cases {
		name := c.plat + "/" + c.check + "/" + strings.Join(c.over, "+")
		t.Run(name, func(t *testing.T) {
			r := run(t, c)
			if r.Status != c.want || !strings.Contains(r.Reason, c.reason) {
				t.Fatalf("want %s (%q), got\n%s", c.want, c.reason, suitetest.Describe(r))
			}
			if len(r.Evidence) == 0 {
				t.Fatalf("%s without evidence", r.Status)
			}
		})
	}
}

// TestWindowsHealthy: every Windows check PASSes on the healthy transcripts
// of each platform it applies to, except where the profile accepts any
// value and nothing is judged (SKIP with the reason).
func TestWindowsHealthy(t *testing.T) {
	skips := map[string]string{
		"windows-kvm/windows.platform.firmware":    "accepts any firmware",
		"windows-kvm/windows.platform.secure-boot": "accepts any Secure Boot state",
	}
	n := 0
	for _, c := range suites.All() {
		if c.Area != "windows" {
			continue
		}
		n++
		for plat, prof := range profileOf {
			if ok, _ := c.AppliesTo(suitetest.HostInfo(prof).Hypervisor, "windows"); !ok {
				continue
			}
			t.Run(plat+"/"+c.ID, func(t *testing.T) {
				r := run(t, tc{plat: plat, check: c.ID})
				want, reason := reports.Pass, ""
				if why, ok := skips[plat+"/"+c.ID]; ok {
					want, reason = reports.Skip, why
				}
				if r.Status != want || !strings.Contains(r.Reason, reason) {
					t.Fatalf("want %s on the healthy transcript, got\n%s", want, suitetest.Describe(r))
				}
				if want == reports.Pass && len(r.Evidence) == 0 {
					t.Fatal("PASS without evidence")
				}
			})
		}
	}
	if n < 24 {
		t.Errorf("%d Windows checks registered, want at least 24", n)
	}
}

// TestWindowsFaultsCovered: every Windows check has a FAIL case above.
func TestWindowsFaultsCovered(t *testing.T) {
	n := 0
	for _, c := range suites.All() {
		if c.Area != "windows" {
			continue
		}
		n++
		if c.Fault.What == "" || len(c.Fault.Proofs) == 0 {
			t.Errorf("%s: no fault and proof", c.ID)
		}
		for _, p := range c.Fault.Proofs {
			if p.Test != "TestWindowsTranscripts" {
				t.Errorf("%s: proof %s is not replayed here", c.ID, p)
			}
		}
	}
	if n == 0 {
		t.Error("no windows check registered: nothing was held to a fault and proof")
	}
}

// TestWindowsRobustness: answers a Windows guest can give that are not
// the guest's fault are never judged as if they were. A JSON null where
// the inventory has an object (a CIM query that returned nothing) is an
// ERROR with the inventory as evidence, not a FAIL (or a PASS); w32tm
// text in a display language other than English is not judged (SKIP
// with the reason) unless it carries what reads the same in every
// language: an NTP peer's name (PASS) or an error code (FAIL). The
// German transcripts' wording is illustrative (SOURCES.md).
func TestWindowsRobustness(t *testing.T) {
	const k, h = "windows-kvm", "windows-hyperv-gen2"
	cases := []tc{
		{plat: k, check: "windows.platform.hypervisor", over: []string{"platform/cs-null.txt"}, want: reports.Error, reason: `"cs" is null`},
		{plat: k, check: "windows.platform.hypervisor", want: reports.Pass},
		{plat: k, check: "windows.events.bugcheck", over: []string{"events/boot-null.txt"}, want: reports.Error, reason: `"boot" is null`},
		{plat: k, check: "windows.events.disk-errors", over: []string{"events/boot-null.txt"}, want: reports.Error, reason: `"boot" is null`},
		{plat: k, check: "windows.events.bugcheck", want: reports.Pass},
		{plat: k, check: "windows.clock.source", over: []string{"clock/german.txt"}, want: reports.Pass},
		{plat: k, check: "windows.clock.sync-status", over: []string{"clock/german.txt"}, want: reports.Skip, reason: "display language is de-DE"},
		// Was a false PASS: a translated "Local CMOS Clock" taken for a peer.
		{plat: k, check: "windows.clock.source", over: []string{"clock/german-cmos.txt"}, want: reports.Skip, reason: `"Lokale CMOS-Uhr"`},
		{plat: k, check: "windows.clock.source", over: []string{"clock/german-stopped.txt"}, want: reports.Fail, reason: "0x80070426"},
		{plat: k, check: "windows.clock.sync-status", over: []string{"clock/german-stopped.txt"}, want: reports.Fail, reason: "a status report"},
		{plat: k, check: "windows.clock.w32time", over: []string{"clock/german-stopped.txt"}, want: reports.Fail, reason: "Status Stopped"},
		// Was a false FAIL: the VM IC provider under its translated name.
		{plat: h, check: "windows.clock.source", over: []string{"clock/german.txt"}, want: reports.Skip, reason: "VM IC-Zeitsynchronisierungsanbieter"},
		{plat: h, check: "windows.clock.sync-status", over: []string{"clock/german.txt"}, want: reports.Skip, reason: "display language is de-DE"},
	}
	runCases(t, cases)
}

// TestJudgeSourceLanguages: JudgeSource on an English guest still fails
// a source that is neither a peer nor the expected provider; on a guest
// in another language, error codes and peers are judged.
func TestJudgeSourceLanguages(t *testing.T) {
	peer := []string{"ntp-peer"}
	for _, c := range []struct {
		src, culture string
		want         []string
		failed, skip bool
	}{
		{"time.windows.com,0x9", "en-US", peer, false, false},
		{"fd00::1", "", peer, false, false},
		{"Local CMOS Clock", "en-US", peer, true, false},
		{"Lokale CMOS-Uhr", "en-US", peer, true, false},
		{"Lokale CMOS-Uhr", "de-DE", peer, false, true},
		{"10.0.2.2,0x8", "de-DE", peer, false, false},
		{"Fehler. (0x80070426)", "de-DE", peer, true, false},
		{"VM IC Time Synchronization Provider", "fr-FR", []string{"VM IC Time Synchronization Provider"}, false, false},
	} {
		v := windows.JudgeSource(c.src, c.want, c.culture)
		skip := len(v.Items) == 1 && v.Items[0].NotJudged != ""
		if v.Failed() != c.failed || skip != c.skip {
			t.Errorf("%q in %q: failed %v skip %v, want %v %v: %s", c.src, c.culture, v.Failed(), skip, c.failed, c.skip, v)
		}
	}
}
