package suitetest_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
	_ "github.com/virtcert/virtcert/suites/all"
	"github.com/virtcert/virtcert/suites/suitetest"
)

// TestReadsDeclareExactlyWhatRuns: a read-only check's Reads are exactly
// the guest commands it runs. Each such check runs alone (no snapshot,
// so every command reaches the transport) on every recorded Linux
// platform it applies to: a command it runs that its Reads lack would run
// live beside the gather (an undeclared read, or worse, a change taken
// for a read), and a declared one it never runs is gathered for nothing
// (the declaration drifted from the text the check runs).
func TestReadsDeclareExactlyWhatRuns(t *testing.T) {
	root, err := suitetest.Root()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range suites.All() {
		if !suites.ReadOnly(c) || len(c.OS) > 0 && c.OS[0] != "linux" {
			continue
		}
		n++
		ran := map[string]bool{}
		for _, p := range []string{"kvm", "kvm-tcg", "hyperv-gen1", "hyperv-gen2"} {
			if ok, _ := c.AppliesTo(suitetest.HostInfo(p).Hypervisor, "linux"); !ok {
				continue
			}
			if _, err := os.Stat(filepath.Join(root, p, c.Area)); err != nil {
				continue // no transcripts of this area recorded on p
			}
			x, err := suitetest.Platform(root, p)
			if err != nil {
				t.Fatal(err)
			}
			logb, err := suitetest.ReadConsole(root, p, "healthy.log")
			if err != nil {
				t.Fatal(err)
			}
			g := &suitetest.CapGuest{Guest: &suitetest.Guest{GuestName: "t", ConsoleLog: logb}}
			tg, err := suitetest.Target(p, x, g)
			if err != nil {
				t.Fatal(err)
			}
			g.Running = suitetest.HostReport(tg.Spec)
			r, err := suitetest.Execute(c.ID, tg)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status == reports.Error {
				t.Errorf("%s on %s: ERROR %s", c.ID, p, r.Reason)
			}
			for _, cmd := range x.Commands {
				ran[cmd] = true
				if !slices.Contains(c.Reads, cmd) {
					t.Errorf("%s on %s ran %.100q, which its Reads do not declare", c.ID, p, cmd)
				}
			}
		}
		for _, cmd := range c.Reads {
			if !ran[cmd] {
				t.Errorf("%s declares %.100q in Reads but ran it on no platform (ran %d other commands)", c.ID, cmd, len(ran))
			}
		}
	}
	if n < 14 {
		t.Fatalf("only %d read-only Linux checks in the catalog", n)
	}
}
