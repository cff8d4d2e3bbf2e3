package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/resolve"
	"github.com/virtcert/virtcert/suites"
)

// oneOffNoHost is a one-off run of the real binary whose host cannot be
// reached (no lab needed): the run starts, says what it would upload,
// and every check ERRORs.
func oneOffNoHost(t *testing.T, env []string, extra ...string) (code int, stdout, stderr string) {
	t.Helper()
	code, stdout, stderr, _ = oneOffNoHostIn(t, t.TempDir(), env, extra...)
	return code, stdout, stderr
}

// oneOffNoHostIn is oneOffNoHost in dir; the run directory is dir/o.
func oneOffNoHostIn(t *testing.T, dir string, env []string, extra ...string) (code int, stdout, stderr, out string) {
	t.Helper()
	os.WriteFile(filepath.Join(dir, "img.qcow2"), []byte("QFI\xfb"), 0o644)
	args := append([]string{"run", "--uri", "qemu+unix:///system?socket=" + filepath.Join(dir, "no-libvirtd"), "--image", "img.qcow2", "--out", "o"}, extra...)
	code, stdout, stderr = runIn(t, dir, env, args...)
	return code, stdout, stderr, filepath.Join(dir, "o")
}

// TestHelperStated: a run states at its start which vcprobe it uploads,
// or that there is none and which selected checks SKIP for that; `run
// --help` says where the helper comes from.
func TestHelperStated(t *testing.T) {
	t.Parallel()
	_, out, _ := oneOffNoHost(t, []string{ProbeEnv + "=/nonexistent/vcprobe"})
	want := "helper: vcprobe not found ($VIRTCERT_PROBE /nonexistent/vcprobe"
	if !strings.Contains(out, want) || !strings.Contains(out, "helper: these selected checks will SKIP without it: ") {
		t.Errorf("no helper, not stated at the start; want %q:\n%s", want, out)
	}
	for _, id := range []string{"disk.integrity", "network.throughput.controller"} {
		if !strings.Contains(firstLines(out, 4), id) {
			t.Errorf("%s not listed as skipping without the helper:\n%s", id, out)
		}
	}
	if strings.Contains(firstLines(out, 4), "clock.offset") {
		t.Errorf("clock.offset does not need the helper, yet is listed:\n%s", out)
	}
	_, out, _ = oneOffNoHost(t, []string{ProbeEnv + "=/nonexistent/vcprobe"}, "--checks", "clock")
	if !strings.Contains(out, "helper: no selected check needs it") {
		t.Errorf("--checks clock: want no check listed:\n%s", out)
	}
	probe := filepath.Join(t.TempDir(), "vcprobe")
	os.WriteFile(probe, []byte("#!/bin/sh\n"), 0o755)
	_, out, _ = oneOffNoHost(t, []string{ProbeEnv + "=" + probe})
	if !strings.Contains(out, "helper: vcprobe "+probe+"\n") || strings.Contains(out, "will SKIP") {
		t.Errorf("helper present: want it named:\n%s", out)
	}
	_, help, _ := runIn(t, t.TempDir(), nil, "run", "--help")
	if !strings.Contains(help, "$VIRTCERT_PROBE") || !strings.Contains(help, "make build") {
		t.Errorf("run --help does not say where vcprobe comes from:\n%s", help)
	}
}

func firstLines(s string, n int) string {
	l := strings.SplitN(s, "\n", n+1)
	return strings.Join(l[:min(n, len(l))], "\n")
}

// TestHelperChecksWillRun: the checks listed as SKIPping without the
// helper are those that will run: a Linux-only helper check is N/A for
// a Windows image, not a SKIP.
func TestHelperChecksWillRun(t *testing.T) {
	probe := suites.Check{ID: "disk.integrity", Needs: []string{suites.NeedHelper}, OS: []string{"linux"}}
	other := suites.Check{ID: "clock.offset"}
	rr := &resolve.Run{Targets: []*resolve.Target{
		{ID: "h/win", Selected: []suites.Check{probe, other}, Checks: []string{"clock.offset"}},
		{ID: "h/linux", Selected: []suites.Check{probe, other}, Checks: []string{"disk.integrity", "clock.offset"}},
	}}
	if got := helperChecks(rr); !slices.Equal(got, []string{"disk.integrity"}) {
		t.Errorf("both targets: %v", got)
	}
	rr.Targets = rr.Targets[:1]
	if got := helperChecks(rr); len(got) != 0 {
		t.Errorf("the Windows target alone: %v, want none (the check is N/A there)", got)
	}
}
