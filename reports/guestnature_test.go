package reports_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/reportstest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGuestNatureJSON: results.json's guest object carries nature,
// identity and identity_error (golden file), and reads back.
func TestGuestNatureJSON(t *testing.T) {
	run := reportstest.SimulatedGuests()
	got, err := json.MarshalIndent([]reports.GuestInfo{run.Targets[2].Guest, run.Targets[1].Guest}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "guest-nature.json")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("differs from %s:\n%s", golden, got)
	}
	var back []reports.GuestInfo
	if err := json.Unmarshal(want, &back); err != nil || !back[0].Simulated() || back[1].Simulated() || back[1].IdentityError == "" {
		t.Errorf("read back: %+v %v", back, err)
	}
}
