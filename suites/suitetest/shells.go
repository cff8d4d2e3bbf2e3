package suitetest

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// Shells returns the POSIX shells on this machine that guests log in
// with, each as the argv that runs a script: bash (Debian, RHEL), dash
// (/bin/sh on Debian) and busybox sh (the tiny guest). A probe's shell
// code must mean the same in each. Elsewhere it runs those it finds and
// skips t when none is installed; under CI (CI set, where
// fixtures/deps.sh installed busybox) a missing one fails t.
func Shells(t *testing.T) [][]string {
	t.Helper()
	var out [][]string
	for _, sh := range [][]string{{"bash", "-c"}, {"dash", "-c"}, {"busybox", "sh", "-c"}} {
		p, err := exec.LookPath(sh[0])
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed: the probes' shell code is proven in bash, dash and busybox sh", sh[0])
			}
			continue
		}
		out = append(out, append([]string{p}, sh[1:]...))
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

var driverPath = regexp.MustCompile(`driver=[^ \n]*/`)

// SameAsOracle runs script and oracle (the slower script it replaced,
// kept by the test) on this machine's /sys in every shell of Shells, from
// a readable directory and from one deleted under the shell, and fails t
// when their outputs differ or are empty. driver= values are compared by
// their last element, which is all the parsers read of them.
func SameAsOracle(t *testing.T, script, oracle string) {
	t.Helper()
	norm := func(s string) string { return driverPath.ReplaceAllString(s, "driver=") }
	for _, sh := range Shells(t) {
		for _, pre := range []string{"", "mkdir vc-gone && cd vc-gone && rmdir ../vc-gone && "} {
			got, want := norm(RunShell(t, sh, t.TempDir(), pre+script)), norm(RunShell(t, sh, t.TempDir(), pre+oracle))
			if got != want || strings.TrimSpace(want) == "" {
				t.Errorf("%s (%q):\n got %q\nwant %q", sh[0], pre, got, want)
			}
		}
	}
}
