package junit

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports/reportstest"
)

// Regression (issue 11, finding 7): a status or ID carrying ESC or \x01
// made junit.xml not well-formed. Every field of a hostile run comes out
// without control characters, and encoding/xml reads the file.
func TestHostileFieldsWellFormed(t *testing.T) {
	out := render(t, reportstest.HostileRun(), Options{CaseOutput: true})
	if i, c := reportstest.FirstControl(string(out), "\n\t\r"); i >= 0 {
		t.Fatalf("control %U at %d: %q", c, i, out[max(0, i-40):min(len(out), i+40)])
	}
	if strings.Contains(string(out), "\u0085") || strings.Contains(string(out), "\u009b") {
		t.Error("C1 control in junit.xml")
	}
	d := xml.NewDecoder(strings.NewReader(string(out)))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("not well-formed: %v", err)
			}
			break
		}
	}
}
