package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/virtcert/virtcert/reports/reportstest"
)

// TestSummarySimulatedGuest: the terminal summary says which guest
// declared itself simulated, and which could not be asked (golden file).
func TestSummarySimulatedGuest(t *testing.T) {
	var b bytes.Buffer
	printSummary(&b, reportstest.SimulatedGuests(), reportPaths{dir: "out/x", html: "out/x/report.html", junit: "out/x/junit.xml"}, nil)
	golden := filepath.Join("testdata", "summary-simulated-guest.txt")
	if *updateGolden {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if b.String() != string(want) {
		t.Errorf("summary differs from %s:\n%s", golden, b.String())
	}
}
