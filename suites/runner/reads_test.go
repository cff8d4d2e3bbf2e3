package runner

import (
	"slices"
	"testing"

	"github.com/virtcert/virtcert/suites/suitetest"
)

// TestReadsMatchWhatChecksRun holds Check.Reads, kept by hand beside the
// commands a check passes to T.Run and T.Read, to what the checks really
// run: each read-only Linux check runs live (nothing gathered) on every
// recorded platform, and the commands it sent must all be declared (an
// undeclared one would run live after the gather, one round trip more, or
// be a change hidden in a check called read-only), and every declared
// read must be sent on some platform (a dead one is gathered for nothing).
func TestReadsMatchWhatChecksRun(t *testing.T) {
	root, err := suitetest.Root()
	if err != nil {
		t.Fatal(err)
	}
	ro, _ := readOnlyCatalog()
	ran := map[string][]string{}
	for _, p := range []string{"kvm", "kvm-tcg", "hyperv-gen1", "hyperv-gen2"} {
		for _, c := range ro {
			x, err := suitetest.Platform(root, p)
			if err != nil {
				t.Fatal(err)
			}
			g := &suitetest.CapGuest{Guest: &suitetest.Guest{GuestName: "t"}}
			tg, err := suitetest.Target(p, x, g)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := suitetest.Execute(c.ID, tg); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range x.Commands {
				if !slices.Contains(c.Reads, cmd) {
					t.Errorf("%s on %s ran %q, which its Reads do not declare", c.ID, p, cmd)
				}
				ran[c.ID] = append(ran[c.ID], cmd)
			}
		}
	}
	for _, c := range ro {
		for _, r := range c.Reads {
			if !slices.Contains(ran[c.ID], r) {
				t.Errorf("%s declares the read %q, which it ran on no platform", c.ID, r)
			}
		}
	}
}
