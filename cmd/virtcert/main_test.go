package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/journal"
	"github.com/virtcert/virtcert/suites/runner"
)

func exec(t *testing.T, args ...string) (int, string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err == nil {
		return 0, out.String(), nil
	}
	return codeFor(err), out.String(), err
}

func TestUsageErrors(t *testing.T) {
	plan := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(plan, []byte("name: x\nhosts:\n  h: {driver: libvirt, uri: 'qemu:///system'}\nimages:\n  i: {path: /nonexistent.qcow2}\n"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bogus"}, 2, "unknown command"},
		{[]string{"run"}, 2, "give exactly one of"},
		{[]string{"run", "--plan", plan, "--resume", "x"}, 2, "give exactly one of"},
		{[]string{"run", "--nope"}, 2, "unknown flag"},
		{[]string{"run", "--plan", plan}, 2, "p.yaml:5: images.i.path: /nonexistent.qcow2: no such file or directory"},
		{[]string{"run", "--uri", "qemu:///system"}, 2, "needs --uri and --image"},
		{[]string{"run", "--plan", plan, "--checks", ""}, 2, "--checks: empty"},
		{[]string{"run", "--plan", plan, "--priority", "4"}, 2, "--priority: want 1 to 3, got 4"},
		{[]string{"run", "--resume", t.TempDir()}, 2, "not a run directory"},
		{[]string{"sweep", "--uri", "qemu:///system"}, 2, "say what to sweep"},
		{[]string{"sweep", "--uri", "qemu:///system", "--run", "not-a-label"}, 2, "not a run label"},
		{[]string{"sweep", "--run", "vc-20261121-233929-fa3540"}, 2, "say where to sweep"},
		{[]string{"sweep", "--uri", "ftp://x", "--all"}, 2, "bad libvirt URI"},
		{[]string{"sweep", "--driver", "libvrit", "--uri", "x", "--all"}, 2, `unknown driver "libvrit" (did you mean libvirt?)`},
		{[]string{"run", "--driver", "libvrit", "--uri", "x", "--image", plan}, 2, `--driver: unknown driver "libvrit" (did you mean libvirt?)`},
		{[]string{"profiles", "nope"}, 2, `no profile "nope"`},
		{[]string{"report", "/nonexistent"}, 2, "no such file"},
		{[]string{"report", "verify", t.TempDir()}, 2, "manifest"},
	} {
		code, _, err := exec(t, c.args...)
		if code != c.code || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: code %d err %v; want %d %q", c.args, code, err, c.code, c.want)
		}
	}
}

func TestInfoCommands(t *testing.T) {
	if code, out, _ := exec(t, "version"); code != 0 || !strings.HasPrefix(out, "virtcert ") {
		t.Errorf("version: %d %q", code, out)
	}
	if code, out, _ := exec(t, "checks", "--json"); code != 0 || !strings.Contains(out, `"id": "clock.offset"`) {
		t.Errorf("checks: %d %.200s", code, out)
	}
	if code, out, _ := exec(t, "checks"); code != 0 || !strings.Contains(out, "ID") || !strings.Contains(out, "APPLIES TO") {
		t.Errorf("checks table: %d %.200s", code, out)
	}
	if code, out, _ := exec(t, "profiles", "kvm-tcg"); code != 0 || !strings.Contains(out, "name: kvm-tcg") {
		t.Errorf("profiles: %d %.200s", code, out)
	}
}

func TestVerdictExitCodes(t *testing.T) {
	mk := func(sts ...reports.Status) *reports.Run {
		tg := &reports.Target{ID: "h/i"}
		for _, s := range sts {
			tg.Results = append(tg.Results, &reports.Result{Check: "x", Status: s})
		}
		tg.Finished = tg.Started.Add(1)
		return &reports.Run{Complete: true, Targets: []*reports.Target{tg}}
	}
	sec := &runner.Outcome{Setup: &runner.SetupError{Errs: []error{drivers.Errorf(drivers.ClassSecurity, "x", "host key")}}}
	host := &runner.Outcome{Setup: &runner.SetupError{Errs: []error{drivers.Errorf(drivers.ClassHost, "x", "down")}}}
	// A Windows image's refused WinRM login or an image OS that is not
	// the guest's (suites/runner: TestWindowsWrongCredentials,
	// TestImageOSMismatch) are input: exit 2 though the checks ERROR. A
	// guest that never answered is its fault: exit 1.
	input := &runner.Outcome{Setup: &runner.SetupError{Errs: []error{drivers.Errorf(drivers.ClassInput, "images.win.os", "the plan says os: windows")}}}
	guest := &runner.Outcome{Setup: &runner.SetupError{Errs: []error{drivers.Errorf(drivers.ClassGuest, "x", "never answered WINRM")}}}
	for _, c := range []struct {
		run  *reports.Run
		o    *runner.Outcome
		code int
	}{
		{mk(reports.Pass, reports.Skip, reports.Waived), nil, 0},
		{mk(reports.Pass, reports.Fail), nil, 1},
		{mk(reports.Fail, reports.Error), nil, 1},
		{mk(reports.Pass, reports.Error), nil, 3},
		// Nothing tested: NOT CERTIFIED, exit 3 (issue 15; was 0).
		{mk(reports.Skip, reports.Skip), nil, 3},
		{mk(reports.Skip, reports.Waived), nil, 3},
		{mk(reports.Fail), sec, 2},
		{mk(reports.Error), host, 3},
		{mk(reports.Error, reports.Error), input, 2},
		{mk(reports.Fail, reports.Fail), guest, 1},
		{&reports.Run{Complete: false, Targets: []*reports.Target{{ID: "h/i"}}}, nil, 3},
	} {
		got := 0
		if err := verdictError(c.run, c.o); err != nil {
			got = codeFor(err)
		}
		if got != c.code {
			t.Errorf("%v / %v: exit %d, want %d", c.run.Verdict(), c.o, got, c.code)
		}
	}
}

func TestReportRendersKilledRun(t *testing.T) {
	dir := t.TempDir()
	w, _ := journal.Create(dir)
	w.Append(journal.Record{Type: journal.RunStarted, RunID: "vc-20261121-233929-fa3540"})
	w.Append(journal.Record{Type: journal.TargetStarted, Target: "lab/tiny", Host: "lab", Image: "tiny"})
	w.Append(journal.Record{Type: journal.CheckResult, Target: "lab/tiny", Result: &reports.Result{Check: "clock.offset", Status: reports.Pass}})
	w.Close()
	f, _ := os.OpenFile(filepath.Join(dir, journal.File), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"type":"check_result","target":"lab/ti`) // cut by SIGKILL
	f.Close()
	code, out, err := exec(t, "report", dir)
	if code != 0 || !strings.Contains(out, "VERDICT: INCOMPLETE") {
		t.Fatalf("report: %d %v\n%s", code, err, out)
	}
	for _, f := range []string{"results.json", "junit.xml", "report.html", "manifest"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "report.html")); !strings.Contains(string(b), "INCOMPLETE") {
		t.Errorf("report.html does not say INCOMPLETE")
	}
	if code, _, err := exec(t, "run", "--resume", dir); code != 2 || !strings.Contains(err.Error(), "no plan.yaml") {
		t.Errorf("resume without plan: %d %v", code, err)
	}
}
