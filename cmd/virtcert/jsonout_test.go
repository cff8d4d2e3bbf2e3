package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the --json golden files in testdata/")

// execSplit runs the CLI in process with stdout and stderr apart.
func execSplit(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	root := newRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	if err := root.ExecuteContext(context.Background()); err != nil {
		return codeFor(err), out.String(), errb.String() + err.Error()
	}
	return 0, out.String(), errb.String()
}

// jsonDoc checks that out is exactly one JSON object carrying schema and
// returns it.
func jsonDoc(t *testing.T, out, schema string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%.2000s", err, out)
	}
	if dec.More() {
		t.Fatalf("stdout carries more than one JSON document:\n%.2000s", out)
	}
	if doc["schema_version"] != schema {
		t.Fatalf("schema_version %v, want %s", doc["schema_version"], schema)
	}
	return doc
}

// golden compares got with testdata/name (-update rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/virtcert -run %s -update)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test ./cmd/virtcert -run %s -update):\n%s", file, t.Name(), got)
	}
}

var (
	labelRE = regexp.MustCompile(`vc-\d{8}-\d{6}-[0-9a-f]{6}`)
	hashRE  = regexp.MustCompile(`"plan_sha256": "[0-9a-f]{64}"`)
	buildRE = regexp.MustCompile(`(?s)"virtcert": \{.*?\}`)
)

// normalize replaces what changes from run to run (the directory, the run
// label, the one-off plan's hash, the build) for a golden file.
func normalize(out, dir string) string {
	out = strings.ReplaceAll(out, dir, "$DIR")
	out = labelRE.ReplaceAllString(out, "vc-LABEL")
	out = hashRE.ReplaceAllString(out, `"plan_sha256": "$$SHA256"`)
	return buildRE.ReplaceAllString(out, `"virtcert": "$$BUILD"`)
}

func TestSweepJSON(t *testing.T) {
	code, out, errs := execSplit(t, "sweep", "--driver", "testdrv", "--uri", "test://one", "--all", "--dry-run", "--json")
	if code != 0 {
		t.Fatalf("sweep --json: %d %s", code, errs)
	}
	doc := jsonDoc(t, out, SweepSchema)
	if doc["total"] != 1.0 || doc["dry_run"] != true {
		t.Errorf("sweep --json: %v", doc)
	}
	golden(t, "sweep.json", out)
}

func TestRunJSON(t *testing.T) {
	before := destroyed.Load()
	defer destroyed.Store(before) // TestRegisteredDriver counts its own destroy
	img := filepath.Join(t.TempDir(), "d.qcow2")
	os.WriteFile(img, []byte("x"), 0o644)
	dir := filepath.Join(t.TempDir(), "run")
	code, out, errs := execSplit(t, "run", "--driver", "testdrv", "--uri", "test://one", "--image", img, "--checks", "console.clean", "--out", dir, "--json")
	if code != 0 {
		t.Fatalf("run --json: %d\n%s\n%s", code, out, errs)
	}
	doc := jsonDoc(t, out, SummarySchema)
	if doc["verdict"] != "CERTIFIED" || doc["exit_code"] != 0.0 || doc["virtcert"] == nil {
		t.Errorf("run --json: %v", doc)
	}
	ts, _ := doc["targets"].([]any)
	if len(ts) != 1 || ts[0].(map[string]any)["counts"].(map[string]any)["pass"] != 1.0 {
		t.Errorf("run --json targets: %v", doc["targets"])
	}
	// Progress and the run's first line went to stderr.
	if !strings.Contains(errs, "virtcert ") || strings.Contains(out, "VERDICT") {
		t.Errorf("progress not on stderr:\nstdout %s\nstderr %s", out, errs)
	}
	golden(t, "run-summary.json", normalize(out, dir))
	// results.json records the build.
	b, _ := os.ReadFile(filepath.Join(dir, "results.json"))
	if !strings.Contains(string(b), `"build": {`) {
		t.Errorf("results.json has no build:\n%.1500s", b)
	}
}

func TestVerifyJSONAndDiffFailOn(t *testing.T) {
	bdir := filepath.Join(t.TempDir(), "bundle")
	if code, _, errs := execSplit(t, "report", "testdata/diff-old.json", "-o", bdir); code != 0 {
		t.Fatalf("report: %d %s", code, errs)
	}
	code, out, errs := execSplit(t, "report", "verify", "--json", bdir)
	if code != ExitFailed || jsonDoc(t, out, VerifySchema)["verdict"] != "UNVERIFIED" {
		t.Errorf("verify --json of an unsigned bundle: %d %s\n%s", code, out, errs)
	}
	golden(t, "verify.json", normalize(out, bdir))
	code, out, errs = execSplit(t, "report", "diff", "--fail-on", "measurement", "--json", "testdata/diff-old.json", "testdata/diff-new.json")
	if code != ExitFailed || !strings.Contains(errs, "1 measurement(s) worse by more than 10%") {
		t.Errorf("diff --fail-on measurement: %d %s", code, errs)
	}
	jsonDoc(t, out, "virtcert.diff/v1")
	golden(t, "diff.json", out)
	if code, _, errs := execSplit(t, "report", "diff", "testdata/diff-old.json", "testdata/diff-new.json"); code != 0 {
		t.Errorf("diff (default --fail-on regression): %d %s", code, errs)
	}
	if code, _, errs := execSplit(t, "report", "diff", "--fail-on", "measurement", "--threshold", "70%", "testdata/diff-old.json", "testdata/diff-new.json"); code != 0 {
		t.Errorf("diff --threshold 70%%: 66%% is within it: %d %s", code, errs)
	}
	for _, bad := range [][]string{{"--fail-on", "perf"}, {"--threshold", "-1"}, {"--threshold", "x%"}} {
		args := append([]string{"report", "diff"}, bad...)
		if code, _, _ := execSplit(t, append(args, "testdata/diff-old.json", "testdata/diff-new.json")...); code != ExitInput {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}

// TestEmptySelectionJSON: a selection that leaves no check is a plan
// problem like the others: `run --dry-run --json` and `plan check
// --json` print the problems document (stdout was empty), exit 2, and
// stderr says it as before.
func TestEmptySelectionJSON(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "d.qcow2")
	os.WriteFile(img, []byte("x"), 0o644)
	p := filepath.Join(dir, "p.yaml")
	os.WriteFile(p, []byte("name: x\nsuites: [windows]\nexclude: [windows]\nhosts:\n  h: {driver: testdrv, uri: 'test://one'}\nimages:\n  i: {path: "+img+"}\n"), 0o644)
	for _, args := range [][]string{
		{"run", "--dry-run", "--json", "--driver", "testdrv", "--uri", "test://one", "--image", img, "--checks", "clock", "--exclude", "clock"},
		{"plan", "check", "--json", p},
	} {
		code, out, errs := execSplit(t, args...)
		doc := jsonDoc(t, out, "virtcert.plan-problems/v1")
		probs, _ := doc["problems"].([]any)
		if code != 2 || len(probs) != 1 || !strings.Contains(fmt.Sprint(probs[0]), "no checks selected") {
			t.Errorf("%v: exit %d, problems %v\nstderr %s", args, code, probs, errs)
		}
	}
}
