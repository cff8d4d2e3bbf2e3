package all

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	_ "github.com/virtcert/virtcert/drivers/all"
	"github.com/virtcert/virtcert/suites"
)

// TestNeedsAreKnown: every need a check declares is enforced by the
// runner: the peer, or a capability some driver registers (a misspelt
// need would SKIP the check everywhere).
func TestNeedsAreKnown(t *testing.T) {
	seen := 0
	for _, c := range suites.All() {
		for _, n := range c.Needs {
			seen++
			if n != suites.NeedPeer && n != suites.NeedHelper && !drivers.KnownCapability(n) {
				t.Errorf("%s needs %q: neither the peer nor a registered capability", c.ID, n)
			}
		}
	}
	if seen == 0 {
		t.Error("no check of the catalog declares a need: nothing was held to the known capabilities")
	}
}

// TestBuiltinProfilesValidate: every built-in profile, generic included,
// gives every check of the catalog that applies to its host and that it
// does not skip each key the check declares.
func TestBuiltinProfilesValidate(t *testing.T) {
	ps, err := suites.BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"generic", "kvm", "kvm-tcg", "hyperv-gen1", "hyperv-gen2"} {
		p := ps[name]
		if p == nil {
			t.Fatalf("no built-in profile %s", name)
		}
		if err := p.Validate(suites.All()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if ps["generic"].SkipReason("platform.hypervisor") == "" || ps["generic"].SkipReason("clock.offset") != "" {
		t.Errorf("generic must skip hypervisor-specific checks only")
	}
}

// TestWaitsFitTimeouts: a check's waits (Check.Waits) are keys it reads,
// and a profile whose waits outlast the check's timeout does not
// validate: the built-in profiles keep the catalog's timeouts honest
// (a run grants the waits anyway, TestRunGrantsWaits).
func TestWaitsFitTimeouts(t *testing.T) {
	n := 0
	for _, c := range suites.All() {
		for _, w := range c.Waits {
			n++
			if !slices.Contains(c.Keys, w) {
				t.Errorf("%s waits on %q, which is not one of its keys %v", c.ID, w, c.Keys)
			}
		}
	}
	if n == 0 {
		t.Fatal("no check declares a wait")
	}
	ps, err := suites.BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	long := &suites.Profile{Source: "test", Checks: map[string]map[string]any{"lifecycle.reboot": {"max_seconds": 3600.0}}}
	err = ps["kvm"].Override(long).Validate(suites.All())
	if err == nil || !strings.Contains(err.Error(), "lifecycle.reboot waits 1h0m0s (max_seconds)") {
		t.Errorf("a 1-hour reboot limit in a 12-minute check: %v", err)
	}
}

// TestRunGrantsWaits: a run gives a check at least its waits in the
// target's profile plus a minute, the limits scaled by boot_factor for
// this guest's boot time, over its own timeout and over the plan's
// timeouts.check; otherwise a reboot wait cut by the deadline would read
// as a guest that never came back (a false FAIL).
func TestRunGrantsWaits(t *testing.T) {
	ps, err := suites.BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	c, ok := suites.Lookup("lifecycle.reboot")
	if !ok {
		t.Fatal("no lifecycle.reboot")
	}
	tcg := ps["kvm-tcg"] // max_seconds 300, boot_factor 2
	for _, x := range []struct {
		name   string
		p      *suites.Profile
		boot   float64
		limit  time.Duration
		want   time.Duration
		raised bool
	}{
		{"quick boot", tcg, 100, 0, c.Timeout, false},
		{"slow boot: 2 × 400 s", tcg, 400, 0, 860 * time.Second, true},
		{"plan caps checks at 2m", tcg, 100, 2 * time.Minute, 360 * time.Second, true},
		{"a 1-hour override", ps["kvm"].Override(&suites.Profile{Source: "test", Checks: map[string]map[string]any{"lifecycle.reboot": {"max_seconds": 3600.0}}}), 0, 0, 61 * time.Minute, true},
	} {
		d, raised := suites.CheckTimeout(c, x.limit, &suites.Target{Profile: x.p, BootSeconds: x.boot})
		if d != x.want || raised != x.raised {
			t.Errorf("%s: %s (raised %v), want %s (raised %v)", x.name, d, raised, x.want, x.raised)
		}
	}
}
