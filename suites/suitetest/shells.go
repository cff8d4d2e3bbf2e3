package suitetest

import (
	"os/exec"
	"testing"
)

// Shells returns the POSIX shells on this machine that guests log in
// with, each as the argv that runs a script: bash (Debian, RHEL), dash
// (/bin/sh on Debian) and busybox sh (the tiny guest). A probe's shell
// code must mean the same in each. It skips t when none is installed.
func Shells(t *testing.T) [][]string {
	t.Helper()
	var out [][]string
	for _, sh := range [][]string{{"bash", "-c"}, {"dash", "-c"}, {"busybox", "sh", "-c"}} {
		if p, err := exec.LookPath(sh[0]); err == nil {
			out = append(out, append([]string{p}, sh[1:]...))
		}
	}
	if len(out) == 0 {
		t.Skip("no bash, dash or busybox here")
	}
	return out
}

// RunShell runs script with sh (one of Shells) in dir and returns its
// combined output; a non-zero exit fails t.
func RunShell(t *testing.T, sh []string, dir, script string) string {
	t.Helper()
	cmd := exec.Command(sh[0], append(sh[1:], script)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", sh[0], err, out)
	}
	return string(out)
}
