package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/reportstest"
)

// TestReportHumanUnitsAndNA renders a run through the real binary: a
// clock offset of 1.486e-05 s reads "14.9 µs" in the HTML and JUnit, and
// a check that does not apply is N/A, apart from SKIP (its own badge in
// the HTML, "n/a: ..." in JUnit).
func TestReportHumanUnitsAndNA(t *testing.T) {
	t.Parallel()
	run := reportstest.Sample()
	tg := run.Targets[0]
	var offset *reports.Measurement
	for _, r := range tg.Results {
		for i := range r.Measures {
			if r.Measures[i].Unit == "s" {
				offset = &r.Measures[i]
			}
		}
	}
	if offset == nil {
		t.Fatal("sample run has no measurement in seconds")
	}
	offset.Value = 1.486e-05
	tg.Results = append(tg.Results, &reports.Result{Check: "hyperv.kvp", Area: "hyperv", Priority: 2, Title: "KVP",
		Status: reports.NA, Reason: "not for kvm guests (hyperv only)", Started: tg.Started})
	dir := t.TempDir()
	b, _ := json.Marshal(run)
	os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644)
	code, _, errOut := runIn(t, dir, nil, "report", "html", "results.json", "-o", "r.html")
	if code != 0 {
		t.Fatalf("report html: exit %d: %s", code, errOut)
	}
	code, _, errOut = runIn(t, dir, nil, "report", "junit", "results.json", "-o", "j.xml")
	if code != 0 {
		t.Fatalf("report junit: exit %d: %s", code, errOut)
	}
	html, _ := os.ReadFile(filepath.Join(dir, "r.html"))
	junit, _ := os.ReadFile(filepath.Join(dir, "j.xml"))
	for _, c := range []struct{ doc, name, want string }{
		{string(html), "html", "14.9 µs"},
		{string(html), "html", `class="badge s-n-a"`},
		{string(junit), "junit", "14.9 µs"},
		{string(junit), "junit", `message="n/a: not for kvm guests (hyperv only)"`},
	} {
		if !strings.Contains(c.doc, c.want) {
			t.Errorf("%s lacks %q", c.name, c.want)
		}
	}
	if strings.Contains(string(html), "1.486e-05") {
		t.Errorf("html still prints 1.486e-05")
	}
}
