package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports/reportstest"
)

// Regression (issue 11, finding 7): `report` and `report merge` printed
// target and run IDs from results.json raw: ESC bytes reached the
// terminal. Every line they print is free of control characters.
func TestReportTerminalNoControls(t *testing.T) {
	dir := t.TempDir()
	run := reportstest.HostileRun()
	run.Schema = "virtcert.results/v1"
	b, err := json.Marshal(run)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644)
	for _, args := range [][]string{
		{"report", dir, "-o", t.TempDir()},
		{"report", "merge", "--allow-unsigned", "-o", filepath.Join(t.TempDir(), "m"), dir},
		{"report", "diff", dir, dir},
	} {
		_, out, _ := exec(t, args...)
		if out == "" {
			t.Errorf("%v printed nothing", args)
		}
		if i, r := reportstest.FirstControl(out, "\n"); i >= 0 {
			t.Errorf("%v: control %U at %d: %q", args, r, i, out[max(0, i-40):i])
		}
		if strings.Count(out, "\nVERDICT") > 1 {
			t.Errorf("%v: a newline in an ID forged a line", args)
		}
	}
}
