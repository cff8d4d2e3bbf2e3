package junit

import (
	"bytes"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/reportstest"
)

// The producing build's revision, dirty flag and toolchain are JUnit
// properties next to virtcert.version.
func TestBuildProperties(t *testing.T) {
	run := reportstest.Sample()
	run.Build = &reports.Build{Version: "v1.2.3", Revision: "0123456789abcdef", Dirty: true, Go: "go1.26.8", Platform: "linux/amd64"}
	var b bytes.Buffer
	if err := Write(&b, run); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`name="virtcert.revision" value="0123456789abcdef"`, `name="virtcert.dirty" value="true"`, `name="virtcert.go" value="go1.26.8 linux/amd64"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %s in junit.xml", want)
		}
	}
}
