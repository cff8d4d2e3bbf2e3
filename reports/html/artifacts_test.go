package html

import (
	"bytes"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports"
)

// TestArtifactsNextToFailedChecks: a failed or errored check links its
// target's artifacts (relative, escaped); a passing one does not, and a
// path outside artifacts/ is never a link.
func TestArtifactsNextToFailedChecks(t *testing.T) {
	run := &reports.Run{ID: "r", Complete: true, Targets: []*reports.Target{{ID: "h/i", Host: "h", Image: "i",
		Artifacts: []string{"artifacts/h_i/dmesg.txt", "artifacts/h_i/diagnostics.txt", "javascript:alert(1)", "../etc/passwd"},
		Results: []*reports.Result{
			{Check: "disk.bad", Area: "disk", Status: reports.Fail, Reason: "broke"},
			{Check: "net.err", Area: "net", Status: reports.Error, Reason: "host broke"},
			{Check: "clock.ok", Area: "clock", Status: reports.Pass},
		}}}}
	var b bytes.Buffer
	if err := Write(&b, run, Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	link := `<a href="artifacts/h_i/dmesg.txt">dmesg.txt</a>`
	if n := strings.Count(out, link); n != 2 {
		t.Errorf("dmesg link appears %d times, want 2 (next to the FAIL and the ERROR)", n)
	}
	if !strings.Contains(out, `<a href="artifacts/h_i/diagnostics.txt">diagnostics.txt</a>`) {
		t.Error("diagnostics index not linked")
	}
	pass := out[strings.Index(out, `<code>clock.ok</code> <span class="tg">`):]
	pass = pass[:strings.Index(pass, "</details>")]
	if strings.Contains(pass, "artifacts:") {
		t.Error("artifacts listed next to a passing check")
	}
	for _, bad := range []string{`href="javascript`, `href="../`, `href="..%2F`} {
		if strings.Contains(out, bad) {
			t.Errorf("report links %s", bad)
		}
	}
}
