package all_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/suites"
	_ "github.com/virtcert/virtcert/suites/all"
	"github.com/virtcert/virtcert/suites/suitetest"
)

// testFiles maps each Go test function of the module to the _test.go
// files that define it (a name can be defined in several packages).
func testFiles(t *testing.T, root string) map[string][]string {
	t.Helper()
	def := regexp.MustCompile(`(?m)^func (Test\w*)\(t \*testing\.T\)`)
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range def.FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = append(out[m[1]], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// caseNamed reports whether a test file names a proof's case: a subtest
// name in quotes, or a transcript variant as PLATFORM/AREA/FILE, AREA/FILE
// or (console logs) FILE.
func caseNamed(src string, p suites.Proof) bool {
	if p.Case == "" {
		return true
	}
	names := []string{p.Case}
	if p.Kind == suites.ProofTranscript {
		parts := strings.Split(p.Case, "/")
		for i := 1; i < len(parts); i++ {
			names = append(names, strings.Join(parts[i:], "/"))
		}
	}
	for _, n := range names {
		if strings.Contains(src, `"`+n+`"`) {
			return true
		}
	}
	return p.Kind == suites.ProofTranscript && strings.Contains(src, p.Case)
}

// TestFaultTable: every check of priority 1 and 2 names the guest fault it
// exists to catch, how that fault is made, and at least one proof; every
// proof names a test function that exists, in a file that names the
// proof's case and the check's ID (a proof pointed at a test of another
// check fails here); a lab proof lives in a lab test (e2e); a transcript proof's
// file exists. A new P1/P2 check without a proven fault fails here.
func TestFaultTable(t *testing.T) {
	transcripts, err := suitetest.Root()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(filepath.Dir(transcripts))
	tests := testFiles(t, root)
	if len(tests["TestFaultTable"]) == 0 {
		t.Fatalf("the test-function scan of %s does not find this test: it would prove nothing", root)
	}
	n := 0
	for _, c := range suites.All() {
		if c.Priority > 2 {
			continue
		}
		n++
		f := c.Fault
		if f.What == "" || f.Made == "" || len(f.Proofs) == 0 {
			t.Errorf("%s (priority %d) names no proven fault: what %q, made %q, %d proofs", c.ID, c.Priority, f.What, f.Made, len(f.Proofs))
			continue
		}
		for _, p := range f.Proofs {
			checkProof(t, c.ID, p, root, transcripts, tests)
		}
	}
	if n < 40 {
		t.Errorf("only %d checks of priority 1 and 2 in the catalog: suites/all wires fewer areas than expected", n)
	}
	for _, id := range suites.FaultIDs() {
		if _, ok := suites.Lookup(id); !ok {
			t.Errorf("a fault is described for %s, which is not a registered check", id)
		}
	}
}

func checkProof(t *testing.T, id string, p suites.Proof, root, transcripts string, tests map[string][]string) {
	t.Helper()
	files := tests[p.Test]
	if len(files) == 0 {
		t.Errorf("%s: proof %s: no test function %s in the module", id, p, p.Test)
		return
	}
	named := false
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		lab := strings.HasPrefix(rel, "e2e"+string(filepath.Separator)) || strings.HasSuffix(rel, "e2e_test.go")
		if p.Kind == suites.ProofLab && !lab {
			continue
		}
		if caseNamed(string(b), p) && strings.Contains(string(b), `"`+id+`"`) {
			named = true
		}
	}
	switch p.Kind {
	case suites.ProofLab, suites.ProofTranscript:
	default:
		t.Errorf("%s: proof %s: kind %q, want lab or transcript", id, p, p.Kind)
	}
	if !named {
		t.Errorf("%s: proof %s: no %s file defining %s names both the case %q and the check %q", id, p, p.Kind, p.Test, p.Case, id)
	}
	if p.Kind != suites.ProofTranscript || !strings.Contains(p.Case, "/") {
		return
	}
	plat, _, _ := strings.Cut(p.Case, "/")
	if suites.TranscriptSources[plat] == "" {
		t.Errorf("%s: proof %s: transcript platform %q has no source label in suites.TranscriptSources", id, p, plat)
	}
	if _, err := os.Stat(filepath.Join(transcripts, filepath.FromSlash(p.Case))); err != nil {
		t.Errorf("%s: proof %s: %v", id, p, err)
	}
}

// TestTranscriptSources holds suites.TranscriptSources (what the fault
// table says of each transcript proof) to the SOURCES.md of each platform.
func TestTranscriptSources(t *testing.T) {
	transcripts, err := suitetest.Root()
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(transcripts)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(transcripts, e.Name(), "SOURCES.md"))
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		m := regexp.MustCompile(`\*\*(Constructed|Captured)\b`).FindStringSubmatch(string(b))
		if m == nil {
			t.Errorf("%s/SOURCES.md does not say **Constructed** or **Captured**", e.Name())
			continue
		}
		if got, want := suites.TranscriptSources[e.Name()], strings.ToLower(m[1]); got != want {
			t.Errorf("suites.TranscriptSources[%q] = %q, SOURCES.md says %q", e.Name(), got, want)
		}
	}
}
