package hyperv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// psCheck runs the tree-sitter PowerShell checker (testdata/psparse, set up
// by testdata/psparse/setup.sh) over files. It skips when node or the
// installed grammar is absent.
func psCheck(t *testing.T, files ...string) (string, int) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed: PowerShell syntax check skipped (install nodejs, run drivers/hyperv/testdata/psparse/setup.sh)")
	}
	dir, _ := filepath.Abs(filepath.Join("testdata", "psparse"))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "tree-sitter-powershell", "tree-sitter-powershell.wasm")); err != nil {
		t.Skip("tree-sitter-powershell not installed: run drivers/hyperv/testdata/psparse/setup.sh")
	}
	// --liftoff-only: compiling the 1 MB grammar with V8's optimising
	// tier costs seconds of CPU; the baseline compiler parses our few
	// scripts in well under a second. Node exits 9 on an unknown option
	// (an older V8): then run without it.
	args := append([]string{"--liftoff-only", filepath.Join(dir, "check.cjs")}, files...)
	out, err := exec.Command(node, args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 9 {
		out, err = exec.Command(node, args[1:]...).CombinedOutput()
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("checker: %v", err)
	}
	if code == 2 {
		t.Fatalf("checker broke: %s", out)
	}
	return string(out), code
}

// TestScriptsSyntax parses every rendered script with a real PowerShell
// grammar.
func TestScriptsSyntax(t *testing.T) {
	t.Parallel()
	scripts, err := Scripts()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	var files []string
	for name, body := range scripts {
		f := filepath.Join(tmp, name)
		if err := os.WriteFile(f, body, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	out, code := psCheck(t, files...)
	if code != 0 {
		t.Fatalf("PowerShell syntax errors:\n%s", out)
	}
	if strings.Count(out, ": ok") != len(scripts) {
		t.Fatalf("checker did not report every script:\n%s", out)
	}
}

// TestSyntaxCheckerCatchesErrors proves the check is not vacuous: a
// deliberately broken script must fail it, at the right line.
func TestSyntaxCheckerCatchesErrors(t *testing.T) {
	t.Parallel()
	out, code := psCheck(t, filepath.Join("testdata", "psparse", "bad.ps1.broken"))
	if code != 1 || !strings.Contains(out, "bad.ps1.broken:6:") {
		t.Fatalf("broken script not caught (exit %d):\n%s", code, out)
	}
}
