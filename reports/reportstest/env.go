package reportstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RepoRoot finds the module root (the directory holding go.mod) above the
// test's working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// JUnitXSD returns the Ant JUnit schema from <repo>/../shared/data, or
// skips the test when the shared directory is absent (a newcomer's clone).
func JUnitXSD(t testing.TB) string {
	t.Helper()
	p, err := FindJUnitXSD(t)
	if err != nil {
		t.Skipf("JUnit schema not available (%v): ../shared is absent", err)
	}
	return p
}

// FindJUnitXSD is JUnitXSD for a test that has more to assert after the
// schema: it returns the error instead of skipping, so the caller skips
// only the validation (CI has ../shared; a newcomer's clone does not).
func FindJUnitXSD(t testing.TB) (string, error) {
	t.Helper()
	p := filepath.Join(RepoRoot(t), "..", "shared", "data", "junit-ant.xsd")
	_, err := os.Stat(p)
	return p, err
}

// NeedTool returns the path of a program or skips the test naming the
// Debian package that provides it.
func NeedTool(t testing.TB, name, debPkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian package %s; `fixtures/deps.sh test` installs it)", name, debPkg)
	}
	return p
}

// Artifact copies a test artifact (a screenshot, a rendered report) to
// $VIRTCERT_ARTIFACTS when set, so CI keeps it.
func Artifact(t testing.TB, src string) {
	t.Helper()
	dir := os.Getenv("VIRTCERT_ARTIFACTS")
	if dir == "" {
		return
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Errorf("artifact %s: %v", src, err)
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("artifact dir: %v", err)
		return
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Errorf("artifact %s: %v", dst, err)
		return
	}
	t.Logf("artifact saved: %s", dst)
}
