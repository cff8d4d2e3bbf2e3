package hyperv

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestScriptsGolden pins every rendered script: a change to a template
// shows up as a reviewable diff of the .golden file (go test -update).
func TestScriptsGolden(t *testing.T) {
	scripts, err := Scripts()
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) < 10 {
		t.Fatalf("only %d scripts rendered", len(scripts))
	}
	for name, body := range scripts {
		golden := filepath.Join("testdata", strings.TrimSuffix(name, ".ps1")+".ps1.golden")
		if *update {
			if err := os.WriteFile(golden, body, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%s: %v (run go test -update)", name, err)
		}
		if string(want) != string(body) {
			t.Errorf("%s differs from %s (run go test ./drivers/hyperv -run Golden -update and review the diff)", name, golden)
		}
	}
	// A golden file whose script is gone pins nothing: -update never
	// removes it, so it would read as a pinned script that no longer exists.
	goldens, err := filepath.Glob(filepath.Join("testdata", "*.ps1.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range goldens {
		if _, ok := scripts[strings.TrimSuffix(filepath.Base(g), ".golden")]; !ok {
			t.Errorf("%s: no such script is rendered; remove the stale golden file", g)
		}
	}
}

// Values must never be spliced into script text: no template action may
// reference anything but the static data.
func TestTemplatesUseOnlyStaticData(t *testing.T) {
	re := regexp.MustCompile(`\{\{[^}]*\}\}`)
	allowed := regexp.MustCompile(`^\{\{-?\s*(template "[a-z]+" \.|define "[a-z]+"|end|\.Script|\.JSONDepth)\s*-?\}\}$`)
	files, err := filepath.Glob("scripts/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates under scripts/ to inspect (%v)", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllString(string(b), -1) {
			if !allowed.MatchString(m) {
				t.Errorf("%s: template action %s is not static structure", f, m)
			}
		}
	}
}

func TestParamBlocksParse(t *testing.T) {
	scripts, err := Scripts()
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no scripts rendered to parse (%v)", err)
	}
	for name, body := range scripts {
		ps, err := ParseParamBlock(string(body))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if name != "info.ps1" && name != "resources.ps1" && len(ps) == 0 {
			t.Errorf("%s: no parameters found", name)
		}
	}
}
