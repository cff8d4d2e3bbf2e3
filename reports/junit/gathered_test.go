package junit

import (
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports/reportstest"
)

// Evidence served from the read-only snapshot says so in junit.xml, as
// it does in results.json (gathered) and report.html; a command run on
// its own has no such line.
func TestGatheredEvidenceShown(t *testing.T) {
	run := reportstest.Sample()
	ev := &run.Targets[0].Results[0].Evidence[0]
	out := string(render(t, run, Options{}))
	if strings.Contains(out, "gathered:") {
		t.Fatal("a live command's evidence says gathered")
	}
	ev.Gathered = "served from the read-only snapshot taken 10:00:00.000 UTC (7 commands in one round trip of 120ms)"
	out = string(render(t, run, Options{}))
	if !strings.Contains(out, "    gathered: "+ev.Gathered+"\n") {
		t.Errorf("junit.xml lacks the gathered line for %q", ev.Command)
	}
}
