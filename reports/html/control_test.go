package html

import (
	"bytes"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports/reportstest"
)

// Regression (issue 11, finding 7): every field of a hostile run reaches
// report.html without a control character.
func TestHostileFieldsNoControls(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, reportstest.HostileRun(), Options{}); err != nil {
		t.Fatal(err)
	}
	if i, r := reportstest.FirstControl(b.String(), "\n\t"); i >= 0 {
		t.Fatalf("control %U at %d: %q", r, i, b.String()[max(0, i-60):i])
	}
	if strings.Contains(b.String(), "[2J") {
		t.Error("an escape sequence's tail survived")
	}
}
