package junit

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports/reportstest"
)

// Regression (issue 11, finding 2): insecure: true left no trace in
// junit.xml or results.json.
func TestTLSNotVerifiedProperty(t *testing.T) {
	run := reportstest.Sample()
	run.Targets[0].HostInfo.TLSUnverified = true
	out := string(render(t, run, Options{}))
	want := "TLS NOT VERIFIED on host " + run.Targets[0].Host
	if !strings.Contains(out, `<property name="host.tls" value="`+want) {
		t.Errorf("junit.xml lacks the host.tls property")
	}
	if !strings.Contains(out, "WARNING: "+want) {
		t.Errorf("junit.xml system-out lacks the warning")
	}
	j, err := json.Marshal(run.Targets[0].HostInfo)
	if err != nil || !strings.Contains(string(j), `"tls_unverified":true`) {
		t.Errorf("results.json host_info lacks tls_unverified: %s", j)
	}
}
