package html

import (
	"bytes"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports/reportstest"
)

// Evidence served from the read-only snapshot says where it came from in
// the report (in place of its own duration).
func TestGatheredEvidenceShown(t *testing.T) {
	run := reportstest.Sample()
	note := "served from the read-only snapshot taken 10:00:00.000 UTC (7 commands in one round trip of 120ms)"
	var b bytes.Buffer
	if err := Write(&b, run, Options{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "read-only snapshot") {
		t.Fatal("a live command's evidence says it was gathered")
	}
	run.Targets[0].Results[0].Evidence[0].Gathered = note
	b.Reset()
	if err := Write(&b, run, Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), note) {
		t.Error("report.html lacks where the gathered evidence came from")
	}
}
