package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// `virtcert plan check` and `virtcert run --dry-run` through the real
// binary. They need no lab: the default plan's "lab" uri comes from
// VIRTCERT_LAB_URI (a socket that need not exist: nothing connects) and
// its image path from a HOME holding a placeholder disk. They run in
// `make unit` too (built here when the lab suite did not build bin).

var (
	plainOnce sync.Once
	plainBin  string
	plainErr  error
)

// planBinary is a virtcert binary: the suite's, else one built here.
func planBinary(t *testing.T) string {
	t.Helper()
	if bin != "" {
		return bin
	}
	plainOnce.Do(func() {
		dir, err := os.MkdirTemp("", "virtcert-plancheck-")
		if err != nil {
			plainErr = err
			return
		}
		lazyDirs = append(lazyDirs, dir)
		plainBin = filepath.Join(dir, "virtcert")
		c := exec.Command("go", "build", "-o", plainBin, "./cmd/virtcert")
		c.Dir = root
		if out, err := c.CombinedOutput(); err != nil {
			plainErr = err
			plainBin = string(out)
		}
	})
	if plainErr != nil {
		t.Fatalf("go build ./cmd/virtcert: %v\n%s", plainErr, plainBin)
	}
	return plainBin
}

// dryEnv is the environment of a lab-less dry run of the default plan.
func dryEnv(t *testing.T) (env []string, cwd string) {
	t.Helper()
	home := t.TempDir()
	disk := filepath.Join(home, ".cache", "virtcert", "guests", "debian", "disk.qcow2")
	os.MkdirAll(filepath.Dir(disk), 0o755)
	os.WriteFile(disk, []byte("placeholder"), 0o644)
	return []string{"HOME=" + home, "VIRTCERT_LAB_URI=qemu:///system?socket=" + filepath.Join(home, "no-libvirt-sock")}, t.TempDir()
}

// runPlain runs the binary in cwd with env and returns its exit code and
// output.
func runPlain(t *testing.T, env []string, cwd string, args ...string) (int, string, string) {
	t.Helper()
	c := exec.Command(planBinary(t), args...)
	c.Dir = cwd
	c.Env = append(os.Environ(), env...)
	var so, se bytes.Buffer
	c.Stdout, c.Stderr = &so, &se
	done := make(chan error, 1)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- c.Wait() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		c.Process.Kill()
		<-done
		t.Fatalf("virtcert %v did not exit within a minute", args)
	}
	return c.ProcessState.ExitCode(), so.String(), se.String()
}

type dryCheck struct {
	ID          string   `json:"id"`
	Priority    int      `json:"priority"`
	Hypervisors []string `json:"hypervisors"`
}

type dryRun struct {
	SchemaVersion string `json:"schema_version"`
	Targets       []struct {
		ID, Driver, Profile string
		Checks              []string
		LeftOut             []struct{ Check, Kind, Reason string } `json:"left_out"`
	}
}

func defaultPlan() string { return filepath.Join(root, "fixtures", "plans", "default.yaml") }

// The default plan resolves: exit 0, every catalog check either runs or is
// listed with its reason (Hyper-V checks n/a on libvirt), as text and as
// versioned JSON; nothing is written.
func TestPlanCheckDefault(t *testing.T) {
	t.Parallel()
	env, cwd := dryEnv(t)
	code, out, errOut := runPlain(t, env, cwd, "checks", "--json")
	var cat []dryCheck
	if code != 0 || json.Unmarshal([]byte(out), &cat) != nil || len(cat) < 30 {
		t.Fatalf("checks --json: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runPlain(t, env, cwd, "plan", "check", defaultPlan())
	if code != 0 || errOut != "" {
		t.Fatalf("plan check: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"\ntarget lab/debian\n", "  driver libvirt, uri qemu:///system?socket=", "profile auto (the libvirt driver picks it from the host)",
		"  will run (", "    hyperv.kvp ", " n/a: not for kvm/qemu guests (hyperv only)\n",
		// network.throughput.peer runs, so a peer is provisioned.
		"\n  peer: lab/debian\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan check output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = runPlain(t, env, cwd, "plan", "check", "--json", defaultPlan())
	var rr dryRun
	if code != 0 || json.Unmarshal([]byte(out), &rr) != nil || rr.SchemaVersion != "virtcert.resolved-run/v1" || len(rr.Targets) != 1 {
		t.Fatalf("plan check --json: exit %d schema %q\n%s%s", code, rr.SchemaVersion, out, errOut)
	}
	tg := rr.Targets[0]
	if n := len(tg.Checks) + len(tg.LeftOut); n != len(cat) {
		t.Errorf("%d checks run + %d left out, want all %d of the catalog", len(tg.Checks), len(tg.LeftOut), len(cat))
	}
	for _, l := range tg.LeftOut {
		if l.Kind == "" || !strings.HasPrefix(l.Reason, l.Kind+": ") {
			t.Errorf("left out %s: kind %q, reason %q", l.Check, l.Kind, l.Reason)
		}
		// The libvirt driver has every capability the Linux catalog
		// needs, and the helper is the runner's business, not the
		// driver's: only checks for another hypervisor or OS stay out.
		if l.Kind != "n/a" {
			t.Errorf("left out %s on the default plan: %s", l.Check, l.Reason)
		}
	}
	if ents, _ := os.ReadDir(cwd); len(ents) != 0 {
		t.Errorf("plan check wrote %d entries in its directory", len(ents))
	}
}

// --priority and globs select; a selection that leaves nothing, an
// unknown or empty selector, and a bad plan are exit 2 with every problem.
func TestDryRunSelection(t *testing.T) {
	t.Parallel()
	env, cwd := dryEnv(t)
	code, out, _ := runPlain(t, env, cwd, "checks", "--json")
	var cat []dryCheck
	json.Unmarshal([]byte(out), &cat)
	prio := map[string]int{}
	low := ""
	for _, c := range cat {
		prio[c.ID] = c.Priority
		if c.Priority > 1 && len(c.Hypervisors) == 0 {
			low = c.ID
		}
	}
	code, out, errOut := runPlain(t, env, cwd, "run", "--dry-run", "--json", "--plan", defaultPlan(), "--priority", "1")
	var rr dryRun
	if code != 0 || json.Unmarshal([]byte(out), &rr) != nil || len(rr.Targets) != 1 || len(rr.Targets[0].Checks) == 0 {
		t.Fatalf("--priority 1: exit %d\n%s%s", code, out, errOut)
	}
	for _, id := range rr.Targets[0].Checks {
		if prio[id] != 1 {
			t.Errorf("--priority 1 runs %s (priority %d)", id, prio[id])
		}
	}
	code, out, errOut = runPlain(t, env, cwd, "run", "--dry-run", "--json", "--plan", defaultPlan(), "--checks", "clock.*")
	rr = dryRun{}
	if code != 0 || json.Unmarshal([]byte(out), &rr) != nil || len(rr.Targets[0].Checks) == 0 {
		t.Fatalf("--checks clock.*: exit %d\n%s%s", code, out, errOut)
	}
	for _, id := range rr.Targets[0].Checks {
		if !strings.HasPrefix(id, "clock.") {
			t.Errorf("--checks clock.* runs %s", id)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("name: b\nhosts:\n  h: {driver: libvrit, uri: lab}\nimages:\n  i: {path: /nonexistent.qcow2, memroy_mb: 2}\nsuites: [clock.offst]\n"), 0o644)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"run", "--dry-run", "--plan", defaultPlan(), "--checks", ""}, []string{"virtcert: --checks: empty"}},
		{[]string{"run", "--dry-run", "--plan", defaultPlan(), "--checks", "nope.*,clock.offst"}, []string{
			`virtcert: --checks: "nope.*" matches no check`, `virtcert: --checks: unknown check or area "clock.offst" (did you mean clock.offset?)`}},
		{[]string{"run", "--dry-run", "--plan", defaultPlan(), "--checks", low, "--priority", "1"}, []string{"virtcert: checks: no checks selected: --checks " + low + " and --priority 1 leave none"}},
		{[]string{"run", "--dry-run", "--plan", bad}, []string{
			`bad.yaml:3: hosts.h.driver: unknown driver "libvrit" (did you mean libvirt?)`,
			`bad.yaml:5: images.i.memroy_mb: unknown field "memroy_mb" (did you mean memory_mb?)`,
			`bad.yaml:6: suites[0]: unknown check or area "clock.offst" (did you mean clock.offset?)`}},
		{[]string{"plan", "check", bad}, []string{`bad.yaml:3: hosts.h.driver: unknown driver "libvrit"`, "bad.yaml:6: suites[0]: unknown check", "3 problem(s) in "}},
		{[]string{"run", "--dry-run", "--plan", bad, "--checks", "nope"}, []string{`virtcert: --checks: unknown check or area "nope"`, "bad.yaml:3: hosts.h.driver"}},
	} {
		code, out, errOut := runPlain(t, env, cwd, c.args...)
		if code != 2 || strings.Contains(errOut, "more problem") {
			t.Errorf("%q: exit %d, want 2\n%s%s", c.args, code, out, errOut)
		}
		for _, w := range c.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%q: stderr lacks %q:\n%s", c.args, w, errOut)
			}
		}
	}
	// As JSON: the flags' problems and the plan's, each with its place.
	code, out, errOut = runPlain(t, env, cwd, "run", "--dry-run", "--json", "--plan", bad, "--priority", "9")
	var probs struct {
		SchemaVersion string `json:"schema_version"`
		Problems      []struct {
			File, Field, Message string
			Line                 int
		}
	}
	if code != 2 || json.Unmarshal([]byte(out), &probs) != nil || probs.SchemaVersion != "virtcert.plan-problems/v1" || len(probs.Problems) != 4 ||
		probs.Problems[0].Field != "--priority" || probs.Problems[1].Line != 3 || probs.Problems[1].Field != "hosts.h.driver" {
		t.Errorf("--dry-run --json on a bad plan: exit %d %+v\n%s%s", code, probs, out, errOut)
	}
	if ents, _ := os.ReadDir(cwd); len(ents) != 0 {
		t.Errorf("a dry run wrote %d entries in its directory", len(ents))
	}
}
