package html

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports/reportstest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// guestNatureRE picks what the report shows of guest natures: the two
// banners (each two lines), the card and column badges, and the
// fingerprint rows.
var guestNatureRE = regexp.MustCompile(`(?m)^.*(id="simulated-guest-banner"|id="guest-identity-banner"|guest SIMULATED|<th scope="row">(guest nature|identity|identity query)</th>).*$\n(^  <ul>.*$)?`)

// TestGoldenSimulatedGuest: a guest that declared itself simulated gets
// a banner, a badge on its card and column, and fingerprint rows; a
// failed identity query gets its own banner and row (golden file).
func TestGoldenSimulatedGuest(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, reportstest.SimulatedGuests(), Options{}); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(guestNatureRE.FindAllString(b.String(), -1), "\n") + "\n"
	golden := filepath.Join("testdata", "simulated-guest.html")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if got != string(want) {
		t.Errorf("the guest nature parts differ from %s:\n%s", golden, got)
	}
	// A run without a simulated guest shows none of it.
	b.Reset()
	if err := Write(&b, reportstest.Sample(), Options{}); err != nil {
		t.Fatal(err)
	}
	if m := guestNatureRE.FindString(b.String()); m != "" {
		t.Errorf("a run without simulated guests shows %q", m)
	}
}
