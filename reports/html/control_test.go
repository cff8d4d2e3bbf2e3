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
	for i, r := range b.String() {
		if (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r < 0xa0) {
			t.Fatalf("control %U at %d: %q", r, i, b.String()[max(0, i-60):i])
		}
	}
	if strings.Contains(b.String(), "[2J") {
		t.Error("an escape sequence's tail survived")
	}
}
