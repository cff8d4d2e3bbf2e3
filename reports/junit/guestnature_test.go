package junit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/virtcert/virtcert/reports/reportstest"
)

// TestGoldenSimulatedGuest: a guest that declared itself simulated gets
// guest.nature and guest.identity properties; a failed identity query
// gets guest.identity_error (golden file).
func TestGoldenSimulatedGuest(t *testing.T) {
	got := render(t, reportstest.SimulatedGuests(), Options{})
	golden := filepath.Join("testdata", "simulated-guest.xml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("junit.xml differs from %s (-want +got):\n%s", golden, d)
	}
}
