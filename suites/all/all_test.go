package all

import (
	"testing"

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
