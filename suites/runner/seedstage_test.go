package runner

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/virtcert/virtcert/reports"
)

// TestSeedStagedInTheRunKeyDir: the runner builds each guest's seed (it
// holds the guest's private host key) in the run's private key
// directory, never in $TMPDIR: here $TMPDIR does not exist, so staging
// there would fail the provisioning. Nothing is left in the key
// directory once the run ends.
func TestSeedStagedInTheRunKeyDir(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	o := opts(t, h, d, okCheck)
	p := testPlan(t, "matrix: [{host: h1, image: tiny}]\npeer: none\n")
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "no-such-tmp"))
	run, _, err := runP(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	if r := result(t, run.Targets[0], "platform.ok"); r.Status != reports.Pass {
		t.Fatalf("platform.ok: %s %s", r.Status, r.Reason)
	}
	if left, _ := os.ReadDir(RunKeyDir(o.KeyDir, run.ID)); len(left) != 0 {
		t.Errorf("the run's key directory still holds %v", left)
	}
}
