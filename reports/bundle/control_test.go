package bundle

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports/reportstest"
	"github.com/virtcert/virtcert/reports/rundir"
)

// Regression (issue 11, finding 7): results.json held DEL and C1 controls
// (U+009B is a CSI to some terminals) raw. Every control character is
// escaped now, and the evidence reads back exactly.
func TestResultsNoControls(t *testing.T) {
	dir := t.TempDir()
	run := reportstest.HostileRun()
	run.Schema = ""
	d, err := rundir.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := WriteResults(d, run); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	if i, r := reportstest.FirstControl(string(b), "\n"); i >= 0 {
		t.Fatalf("raw control %U in results.json at %d", r, i)
	}
	got, err := rundir.Load(dir)
	if err != nil {
		t.Fatalf("results.json does not load: %v", err)
	}
	if id := got.Targets[0].ID; !strings.Contains(id, "\u0085") || !strings.Contains(id, "\x1b[2J\x1b]0;title\a\x01") {
		t.Errorf("ID changed on the round trip: %q", got.Targets[0].ID)
	}
}
