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
	for _, c := range suites.All() {
		for _, n := range c.Needs {
			if n != suites.NeedPeer && !drivers.KnownCapability(n) {
				t.Errorf("%s needs %q: neither the peer nor a registered capability", c.ID, n)
			}
		}
	}
}
