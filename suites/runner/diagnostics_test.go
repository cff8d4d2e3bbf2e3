package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
)

// fakeSections is what the fake guest's diagnostics command prints:
// a cloud-init log that echoes a private key and a password.
var fakeSections = map[string]string{
	"dmesg.txt":      "[    0.000000] Linux version 6.1 fake\n",
	"journal.txt":    "not available: no journalctl in the guest (no systemd journal)\n",
	"cloud-init.log": "util.py: Writing user-data\nssh_keys:\n  ed25519_private: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n    b3BlbnNzaC1rZXktdjEAAAA-FAKEKEY\n    -----END OPENSSH PRIVATE KEY-----\nchpasswd: root:hunter2\ncloud-init done\n",
	"ip-addr.txt":    "1: lo: <LOOPBACK,UP>\n",
}

var nonceRE = regexp.MustCompile(`@@virtcert-diag ([0-9a-f]+) `)

// diagAnswer answers the diagnostics command like a guest with the
// sections above (the others missing), and records when it ran.
func diagAnswer(h *fakeHost, err error) func(context.Context, transport.Command) (transport.Result, error, bool) {
	return func(ctx context.Context, cmd transport.Command) (transport.Result, error, bool) {
		m := nonceRE.FindStringSubmatch(cmd.Cmd)
		if m == nil {
			return transport.Result{}, nil, false
		}
		h.mu.Lock()
		h.events = append(h.events, "diagnostics")
		h.mu.Unlock()
		var out strings.Builder
		for _, f := range []string{"dmesg.txt", "journal.txt", "cloud-init.log", "ip-addr.txt"} {
			out.WriteString("@@virtcert-diag " + m[1] + " " + f + "@@\n" + fakeSections[f])
		}
		return transport.Result{Cmd: cmd.Cmd, Stdout: []byte(out.String())}, err, true
	}
}

func artifactNames(tg *reports.Target) []string {
	var out []string
	for _, a := range tg.Artifacts {
		out = append(out, filepath.Base(a))
	}
	return out
}

// TestDiagnosticsOnFailure: a target with a FAIL gets its guest's
// diagnostics, scrubbed, listed among its artifacts, gathered in one
// command before the guest is destroyed; its verdicts are unchanged.
func TestDiagnosticsOnFailure(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	d.answer = diagAnswer(h, nil)
	o := opts(t, h, d, okCheck, failCheck)
	run, _, err := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"), o)
	if err != nil {
		t.Fatal(err)
	}
	tg := run.Targets[0]
	if r := result(t, tg, "disk.bad"); r.Status != reports.Fail {
		t.Errorf("disk.bad %s", r.Status)
	}
	names := artifactNames(tg)
	for _, f := range []string{"dmesg.txt", "journal.txt", "cloud-init.log", "ip-addr.txt", DiagnosticsFile, "console.log"} {
		if !slices.Contains(names, f) {
			t.Errorf("artifact %s not listed: %v", f, tg.Artifacts)
		}
	}
	for _, a := range tg.Artifacts {
		if !strings.HasPrefix(a, "artifacts/") || filepath.IsAbs(a) {
			t.Errorf("artifact %q is not relative to the run directory", a)
		}
	}
	dir := filepath.Join(o.Out, filepath.FromSlash(filepath.Dir(tg.Artifacts[0])))
	if b, _ := os.ReadFile(filepath.Join(dir, "dmesg.txt")); string(b) != fakeSections["dmesg.txt"] {
		t.Errorf("dmesg.txt = %q", b)
	}
	ci, _ := os.ReadFile(filepath.Join(dir, "cloud-init.log"))
	for _, s := range []string{"PRIVATE KEY", "FAKEKEY", "hunter2"} {
		if strings.Contains(string(ci), s) {
			t.Errorf("cloud-init.log keeps %q:\n%s", s, ci)
		}
	}
	if !strings.Contains(string(ci), "cloud-init done") {
		t.Errorf("cloud-init.log lost harmless lines:\n%s", ci)
	}
	idx, _ := os.ReadFile(filepath.Join(dir, DiagnosticsFile))
	for _, want := range []string{"one command", "dmesg.txt", "block-devices.txt      missing from the output", "command:\nlim()"} {
		if !strings.Contains(string(idx), want) {
			t.Errorf("%s lacks %q:\n%s", DiagnosticsFile, want, idx)
		}
	}
	ev := strings.Join(h.events, "\n")
	if n := strings.Count(ev, "diagnostics"); n != 1 {
		t.Errorf("diagnostics gathered %d times, want one round trip", n)
	}
	if i, j := strings.Index(ev, "diagnostics"), strings.Index(ev, "destroy "+tg.Guest.Name+"\n"); i < 0 || j >= 0 && j < i {
		t.Errorf("diagnostics not gathered before the guest was destroyed:\n%s", ev)
	}
}

// TestDiagnosticsModes: on-failure (default) collects only for a failed
// target, always and --collect always, never not at all.
func TestDiagnosticsModes(t *testing.T) {
	for _, tc := range []struct {
		name, plan, flag string
		fail, want       bool
	}{
		{"default pass", "", "", false, false},
		{"default fail", "", "", true, true},
		{"plan always", "collect: always\n", "", false, true},
		{"plan never", "collect: never\n", "", true, false},
		{"flag over never", "collect: never\n", "always", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, d := newFakeHost(), &fakeDial{}
			d.answer = diagAnswer(h, nil)
			o := opts(t, h, d, okCheck)
			if tc.fail {
				o = opts(t, h, d, okCheck, failCheck)
			}
			o.Collect = tc.flag
			run, _, err := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"+tc.plan), o)
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Contains(artifactNames(run.Targets[0]), "dmesg.txt")
			if got != tc.want {
				t.Errorf("collected %v, want %v (artifacts %v)", got, tc.want, run.Targets[0].Artifacts)
			}
		})
	}
}

// TestDiagnosticsFailureIsNoted: a collection that breaks (the guest
// times out) is noted and changes no verdict.
func TestDiagnosticsFailureIsNoted(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	d.answer = diagAnswer(h, context.DeadlineExceeded)
	o := opts(t, h, d, okCheck, failCheck)
	var events []string
	o.Progress = progressFunc(func(target, format string, args ...any) { events = append(events, format) })
	run, _, err := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"), o)
	if err != nil {
		t.Fatal(err)
	}
	tg := run.Targets[0]
	if result(t, tg, "platform.ok").Status != reports.Pass || result(t, tg, "disk.bad").Status != reports.Fail || tg.Error != "" {
		t.Errorf("verdicts changed: %+v", tg.Results)
	}
	dir := filepath.Join(o.Out, filepath.FromSlash(filepath.Dir(tg.Artifacts[0])))
	idx, _ := os.ReadFile(filepath.Join(dir, DiagnosticsFile))
	if !strings.Contains(string(idx), "collection failed: "+context.DeadlineExceeded.Error()) {
		t.Errorf("failure not noted:\n%s", idx)
	}
	if !slices.ContainsFunc(events, func(e string) bool { return strings.Contains(e, "collection failed") }) {
		t.Errorf("failure not in the progress: %v", events)
	}
}

// TestDiagnosticsSetupFailure: a guest that never answered gets the
// note instead of diagnostics.
func TestDiagnosticsSetupFailure(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{fail: errors.New("connection refused")}
	o := opts(t, h, d, okCheck)
	run, _, err := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"), o)
	if err != nil {
		t.Fatal(err)
	}
	tg := run.Targets[0]
	if !slices.Contains(artifactNames(tg), DiagnosticsFile) || slices.Contains(artifactNames(tg), "dmesg.txt") {
		t.Fatalf("artifacts %v", tg.Artifacts)
	}
	b, _ := os.ReadFile(filepath.Join(o.Out, filepath.FromSlash(tg.Artifacts[slices.IndexFunc(tg.Artifacts, func(a string) bool { return strings.HasSuffix(a, DiagnosticsFile) })])))
	if !strings.Contains(string(b), "not collected: the guest never answered") {
		t.Errorf("%s: %s", DiagnosticsFile, b)
	}
}
