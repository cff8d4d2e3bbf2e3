package html

import (
	"bytes"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports/reportstest"
)

// Regression (issue 11, finding 2): insecure: true left no trace in the
// report. A host whose TLS was not verified gets a banner like the
// SIMULATED one.
func TestTLSNotVerifiedBanner(t *testing.T) {
	run := reportstest.Sample()
	run.Targets[0].HostInfo.TLSUnverified = true
	var b bytes.Buffer
	if err := Write(&b, run, Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	want := "TLS NOT VERIFIED on host " + run.Targets[0].Host
	if !strings.Contains(out, `id="tls-banner"`) || !strings.Contains(out, want) {
		t.Errorf("report lacks the banner %q", want)
	}
	if strings.Count(out, want) != 1 {
		t.Errorf("banner repeated %d times", strings.Count(out, want))
	}
	b.Reset()
	if err := Write(&b, reportstest.Sample(), Options{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "TLS NOT VERIFIED") {
		t.Error("banner without insecure: true")
	}
}
