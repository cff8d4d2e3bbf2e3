package lifecycle

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/suitetest"
)

// The boot-scaled limit applies on the emulated profile only, to the
// Linux and the Windows lifecycle checks alike: kvm-tcg sets boot_factor,
// the others keep their fixed max_seconds whatever the guest's boot took.
func TestLimitScalesForKVMTCGOnly(t *testing.T) {
	ps, err := suites.BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kvm", "kvm-tcg", "hyperv-gen1", "hyperv-gen2", "generic"} {
		for _, id := range []string{"lifecycle.reboot", "lifecycle.host-reboot", "lifecycle.shutdown", "windows.lifecycle.reboot", "windows.lifecycle.shutdown"} {
			p := ps[name]
			fixed, err1 := p.Float(id, "max_seconds")
			factor, err2 := p.Float(id, "boot_factor")
			if err := errors.Join(err1, err2); err != nil {
				t.Fatal(err)
			}
			l := Limit{Key: "max_seconds", Fixed: fixed, Factor: factor, Boot: 1000}
			scaled := l.Seconds() > fixed
			if scaled != (name == "kvm-tcg") {
				t.Errorf("%s %s: limit %.1fs from %s; scaled=%v, want scaled only on kvm-tcg", name, id, l.Seconds(), l.Basis(), scaled)
			}
			if name == "kvm-tcg" && (l.Seconds() != 2000 || !strings.Contains(l.Basis(), "boot-to-ready 1000.0s")) {
				t.Errorf("%s %s: limit %.1fs, basis %q; want 2 × 1000s = 2000s, named", name, id, l.Seconds(), l.Basis())
			}
		}
	}
	// The verdict shows the limit to a tenth of a second.
	if s := (Limit{Key: "max_seconds", Fixed: 20, Factor: 2, Boot: 44.35}).String(); s != "88.7s" {
		t.Errorf("String() = %q, want 88.7s", s)
	}
	// A guest that ignores the shutdown FAILs under a scaled limit too,
	// and the verdict names the limit and its basis.
	l := Limit{Key: "max_seconds", Fixed: 120, Factor: 2, Boot: 400}
	v := JudgeShutdown(drivers.StateRunning, nil, 800*time.Second, l)
	if !v.Failed() || v.Items[0].Expected != "off within 800s" || !strings.Contains(v.Items[0].Tolerance, "boot_factor 2") {
		t.Errorf("a guest still running after a scaled shutdown limit: %+v", v.Items)
	}
	// A fast boot never lowers the fixed limit.
	if l := (Limit{Key: "max_seconds", Fixed: 300, Factor: 2, Boot: 20}); l.Seconds() != 300 || l.Scaled() {
		t.Errorf("fast boot: limit %.1fs (%s), want the fixed 300s", l.Seconds(), l.Basis())
	}
}

// rebootGuest is a simulated guest for lifecycle.reboot (a fake, not a
// recording): it answers with boot "old" until the reboot, and with boot
// "new" once backAfter has passed since the reboot (never when back is
// false).
type rebootGuest struct {
	mu        sync.Mutex
	rebooted  time.Time
	back      bool
	backAfter time.Duration
}

const oldBoot, newBoot = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"

func (g *rebootGuest) Run(_ context.Context, c transport.Command) (transport.Result, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := oldBoot
	switch {
	case strings.Contains(c.Cmd, "vc=reboot"):
		g.rebooted, out = time.Now(), "reboot-scheduled"
	case !g.rebooted.IsZero():
		out = newBoot
	}
	return transport.Result{Cmd: c.Cmd, Stdout: []byte(out + "\n")}, nil
}

func (g *rebootGuest) up() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.back && !g.rebooted.IsZero() && time.Since(g.rebooted) >= g.backAfter
}

func (g *rebootGuest) Upload(context.Context, string, io.Reader, uint32) error { return nil }
func (g *rebootGuest) Download(context.Context, string, io.Writer) error       { return nil }
func (g *rebootGuest) Close() error                                            { return nil }

// reboot runs lifecycle.reboot on profile with a fixed limit of 0.2 s, a
// boot_factor as the profile sets it, and a measured boot of 0.5 s.
func reboot(t *testing.T, profile string, g *rebootGuest) *reports.Result {
	t.Helper()
	tg, err := suitetest.Target(profile, g, &suitetest.Guest{GuestName: "g"})
	if err != nil {
		t.Fatal(err)
	}
	tg.Profile = tg.Profile.Override(&suites.Profile{Checks: map[string]map[string]any{"lifecycle.reboot": {"max_seconds": 0.2}}, Source: "test"})
	tg.BootSeconds = 0.5
	tg.Reconnect = func(ctx context.Context) (transport.Transport, error) {
		if !g.up() {
			<-time.After(20 * time.Millisecond)
			return nil, errors.New("connection refused")
		}
		return g, nil
	}
	r, err := suitetest.Execute("lifecycle.reboot", tg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A healthy emulated guest back after 0.4 s, past the fixed 0.2 s but
// within boot_factor 2 × its 0.5 s boot, PASSes on kvm-tcg and the
// evidence names the scaled limit; on kvm the fixed limit FAILs it; a
// guest that never comes back FAILs on kvm-tcg too.
func TestRebootLimitScalesButNeverComingBackFails(t *testing.T) {
	defer func(d time.Duration) { redialEvery = d }(redialEvery)
	redialEvery = 20 * time.Millisecond
	r := reboot(t, "kvm-tcg", &rebootGuest{back: true, backAfter: 400 * time.Millisecond})
	if r.Status != reports.Pass || !strings.Contains(suitetest.Describe(r), "boot_factor 2 × this guest's boot-to-ready 0.5s = 1.0s") {
		t.Errorf("kvm-tcg, back after 0.4s: want PASS with the scaled limit in the evidence, got %s\n%s", r.Status, suitetest.Describe(r))
	}
	r = reboot(t, "kvm", &rebootGuest{back: true, backAfter: 400 * time.Millisecond})
	if r.Status != reports.Fail || !strings.Contains(suitetest.Describe(r), `time until the guest answers again ok=false exp="<= 0.2s"`) {
		t.Errorf("kvm, back after 0.4s: want FAIL on the fixed 0.2s, got %s: %s\n%s", r.Status, r.Reason, suitetest.Describe(r))
	}
	r = reboot(t, "kvm-tcg", &rebootGuest{})
	if r.Status != reports.Fail || !strings.Contains(r.Reason, "boot_id changed") {
		t.Errorf("kvm-tcg, never back: want FAIL, got %s: %s\n%s", r.Status, r.Reason, suitetest.Describe(r))
	}
}
