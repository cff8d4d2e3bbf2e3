package junit

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/reportstest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func render(t testing.TB, run *reports.Run, opt Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteOptions(&b, run, opt); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func waivedSample() *reports.Run {
	run := reportstest.Sample()
	// Mark the simulated host's clock.source failure as waived, as
	// waiver.Apply would, so the golden file covers WAIVED.
	r := run.Targets[1].Results[2]
	r.OriginalStatus, r.OriginalReason = r.Status, r.Reason
	r.Status, r.Reason = reports.Waived, "waived: "+r.Reason
	r.Waiver = &reports.WaiverNote{Check: "clock.source", Host: "hyperv-*", Justification: "simulator has no TSC page", Tracker: "https://tracker.example/VC-12", Expires: reportstest.Epoch.AddDate(0, 1, 0)}
	return run
}

func TestGolden(t *testing.T) {
	checkGolden(t, "sample.xml", render(t, waivedSample(), Options{}))
}

// checkGolden compares got with testdata/name (rewritten with -update).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("junit.xml differs from %s (-want +got):\n%s", golden, d)
	}
}

func TestNoControlCharactersAndGoParses(t *testing.T) {
	out := render(t, waivedSample(), Options{CaseOutput: true})
	if i, c := reportstest.FirstControl(string(out), "\n\t\r"); i >= 0 {
		t.Fatalf("control %U at %d", c, i)
	}
	var v struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
				Error *struct {
					Message string `xml:"message,attr"`
				} `xml:"error"`
			} `xml:"testcase"`
			Out string `xml:"system-out"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(out, &v); err != nil {
		t.Fatalf("encoding/xml rejects our output: %v", err)
	}
	if len(v.Suites) != 3 {
		t.Fatalf("want 3 suites, got %d", len(v.Suites))
	}
	hv := v.Suites[1]
	if !strings.Contains(hv.Out, "<script>alert(1)</script>") && !strings.Contains(v.Suites[0].Out, "<script>alert(1)</script>") {
		t.Errorf("hostile output lost instead of escaped")
	}
	if strings.Contains(hv.Out, "[31m") || strings.Contains(v.Suites[0].Out, "[31m") {
		t.Errorf("ANSI sequence survived")
	}
	var errMsg string
	for _, c := range hv.Cases {
		if c.Name == "console.clean" && c.Error != nil {
			errMsg = c.Error.Message
		}
	}
	if errMsg != "console log unavailable: simulator returned HTTP 500 <b>boom</b>" {
		t.Errorf("error message = %q", errMsg)
	}
}

// TestSchema validates against the Ant JUnit schema with xmllint.
func TestSchema(t *testing.T) {
	xsd := reportstest.JUnitXSD(t)
	xmllint := reportstest.NeedTool(t, "xmllint", "libxml2-utils")
	for name, run := range map[string]*reports.Run{"sample": waivedSample(), "artifacts": artifactSample(), "synthetic": reportstest.Synthetic(10000), "empty": {ID: "x"}} {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "junit.xml")
			if err := os.WriteFile(f, render(t, run, Options{}), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(xmllint, "--noout", "--schema", xsd, f).CombinedOutput()
			if err != nil {
				t.Fatalf("xmllint: %v\n%s", err, out)
			}
		})
	}
}

// TestIndependentReader parses the XML back with Python's ElementTree
// (not Go's encoding/xml) and checks counts against the model.
func TestIndependentReader(t *testing.T) {
	py := reportstest.NeedTool(t, "python3", "python3")
	run := waivedSample()
	f := filepath.Join(t.TempDir(), "junit.xml")
	if err := os.WriteFile(f, render(t, run, Options{}), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
out = []
for s in root.findall("testsuite"):
    cases = s.findall("testcase")
    out.append({
        "name": s.get("name"),
        "tests": len(cases), "attr_tests": int(s.get("tests")),
        "failures": sum(1 for c in cases if c.find("failure") is not None), "attr_failures": int(s.get("failures")),
        "errors": sum(1 for c in cases if c.find("error") is not None), "attr_errors": int(s.get("errors")),
        "skipped": sum(1 for c in cases if c.find("skipped") is not None), "attr_skipped": int(s.get("skipped") or 0),
        "skip_msgs": [c.find("skipped").get("message") for c in cases if c.find("skipped") is not None],
        "props": {p.get("name"): p.get("value") for p in s.find("properties")},
        "classnames": sorted({c.get("classname") for c in cases}),
    })
json.dump(out, sys.stdout)
`
	raw, err := exec.Command(py, "-c", script, f).Output()
	if err != nil {
		t.Fatalf("python reader: %v", err)
	}
	var got []struct {
		Name                                                                  string
		Tests, AttrTests, Failures, AttrFailures, Errors, AttrErrors, Skipped int
		AttrSkipped                                                           int      `json:"attr_skipped"`
		SkipMsgs                                                              []string `json:"skip_msgs"`
		Props                                                                 map[string]string
		Classnames                                                            []string
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(run.Targets) {
		t.Fatalf("suites: got %d want %d", len(got), len(run.Targets))
	}
	for i, tg := range run.Targets {
		c := tg.Count()
		s := got[i]
		if s.Name != tg.ID || s.Tests != len(tg.Results) || s.Failures != c[reports.Fail] || s.Errors != c[reports.Error] || s.Skipped != c[reports.Skip] {
			t.Errorf("suite %d: %+v, model counts %v", i, s, c)
		}
		if s.AttrSkipped != s.Skipped {
			t.Errorf("suite %s: skipped attribute %d, elements %d", s.Name, s.AttrSkipped, s.Skipped)
		}
		for _, m := range s.SkipMsgs {
			if m == "" {
				t.Errorf("suite %s: SKIP without a reason", s.Name)
			}
		}
		if s.Props["host.nature"] != tg.HostInfo.Nature || s.Props["virtcert.run_id"] != run.ID || s.Props["guest.image_sha256"] != tg.Guest.ImageSHA256 || s.Props["virtcert.plan_sha256"] != run.PlanHash {
			t.Errorf("suite %s: fingerprint properties %v", s.Name, s.Props)
		}
	}
	if w := got[1].Props["waived.clock.source"]; !strings.Contains(w, "was FAIL") || !strings.Contains(w, "VC-12") {
		t.Errorf("waived property = %q", w)
	}
	if got[1].Failures != 2 || got[1].Errors != 1 {
		t.Errorf("hyperv suite: want 2 failures (waived one passes) and 1 error, got %+v", got[1])
	}
}

func BenchmarkJUnit10k(b *testing.B) {
	run := reportstest.Synthetic(10000)
	var n int
	for i := 0; i < b.N; i++ {
		var buf bytes.Buffer
		if err := Write(&buf, run); err != nil {
			b.Fatal(err)
		}
		n = buf.Len()
	}
	b.ReportMetric(float64(n), "bytes/report")
}

// artifactSample is the waived sample whose failing target (the
// simulated Hyper-V host) has its guest's diagnostics.
func artifactSample() *reports.Run {
	run := waivedSample()
	run.Targets[1].Artifacts = []string{"artifacts/hyperv-sim_debian-12/dmesg.txt", "artifacts/hyperv-sim_debian-12/diagnostics.txt"}
	return run
}

// TestAttachments: a failed target's artifacts are [[ATTACHMENT|path]]
// lines in its suite's system-out and an "artifacts" property (and, with
// CaseOutput, in each failed testcase's system-out); a target without a
// failure gets none.
func TestAttachments(t *testing.T) {
	run := artifactSample()
	if run.Targets[0].Artifacts == nil || failed(run.Targets[0]) || !failed(run.Targets[1]) {
		t.Fatal("test premise: target 0 passes with artifacts, target 1 fails")
	}
	ts := Build(run, Options{CaseOutput: true})
	line := "[[ATTACHMENT|artifacts/hyperv-sim_debian-12/dmesg.txt]]\n"
	fail := ts.Suites[1]
	if !strings.HasPrefix(fail.SystemOut.Data, line) {
		t.Errorf("failed suite's system-out does not start with the attachments:\n%.300s", fail.SystemOut.Data)
	}
	prop := ""
	for _, p := range *fail.Properties {
		if p.Name == "artifacts" {
			prop = p.Value
		}
	}
	if prop != strings.Join(run.Targets[1].Artifacts, " ") {
		t.Errorf("artifacts property = %q", prop)
	}
	for _, tc := range fail.Testcases {
		has := tc.SystemOut != nil && strings.Contains(tc.SystemOut.Data, line)
		if want := tc.Failure != nil || tc.Error != nil; has != want {
			t.Errorf("%s: attachments in its system-out %v, want %v", tc.Name, has, want)
		}
	}
	if pass := ts.Suites[0]; strings.Contains(pass.SystemOut.Data, "[[ATTACHMENT|") {
		t.Error("a target without failures lists attachments")
	}
}
