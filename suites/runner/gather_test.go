package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
	_ "github.com/virtcert/virtcert/suites/all"
	"github.com/virtcert/virtcert/suites/suitetest"
)

// readOnlyCatalog is the Linux catalog's read-only checks (they declare
// Reads); bare is the same checks without the declaration, so nothing is
// gathered and each command runs on its own.
func readOnlyCatalog() (ro, bare []suites.Check) {
	for _, c := range suites.All() {
		if suites.ReadOnly(c) && (len(c.OS) == 0 || c.OS[0] == "linux") {
			ro = append(ro, c)
			c.Reads = nil
			bare = append(bare, c)
		}
	}
	return ro, bare
}

var tripsRe = regexp.MustCompile(`^(\d+) checks: (\d+) round trips to the guest$`)

// runTranscript runs checks on one tiny target whose guest answers from
// the kvm transcripts, and returns its results and the session's
// round trips during the checks.
func runTranscript(t *testing.T, platform string, checks []suites.Check) (*reports.Target, int) {
	t.Helper()
	root, err := suitetest.Root()
	if err != nil {
		t.Fatal(err)
	}
	x, err := suitetest.Platform(root, platform)
	if err != nil {
		t.Fatal(err)
	}
	h, d := newFakeHost(), &fakeDial{}
	h.info = suitetest.HostInfo(platform)
	h.info.Driver = "libvirt"
	d.answer = func(ctx context.Context, cmd transport.Command) (transport.Result, error, bool) {
		r, err := x.Run(ctx, cmd)
		return r, nil, err == nil
	}
	o := opts(t, h, d, checks...)
	var mu sync.Mutex
	trips := -1
	o.Progress = progressFunc(func(_, format string, args ...any) {
		if m := tripsRe.FindStringSubmatch(strings.TrimSpace(fmt.Sprintf(format, args...))); m != nil {
			mu.Lock()
			trips, _ = strconv.Atoi(m[2])
			mu.Unlock()
		}
	})
	plan := parsePlan(t, `name: test
hosts:
  h1: {driver: libvirt, uri: "qemu:///system", profile: `+platform+`}
images:
  tiny: {path: disk.qcow2, memory_mb: 128}
timeouts: {ready: 2s, provision: 5s, destroy: 1s}
matrix: [{host: h1, image: tiny}]
`)
	run, _, err := runP(context.Background(), plan, o)
	if err != nil {
		t.Fatal(err)
	}
	if trips < 0 {
		t.Fatal("no round-trip count in the progress lines")
	}
	return run.Targets[0], trips
}

// comparable blanks what differs between two runs of the same guest:
// times, durations, and where a command's output came from.
func comparable(t *testing.T, tg *reports.Target) string {
	t.Helper()
	var rs []reports.Result
	for _, r := range tg.Results {
		c := *r
		c.Started, c.Duration = time.Time{}, 0
		c.Evidence = nil
		for _, e := range r.Evidence {
			e.Duration, e.Gathered = 0, ""
			c.Evidence = append(c.Evidence, e)
		}
		rs = append(rs, c)
	}
	b, err := json.MarshalIndent(rs, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestGatherFirst: the Linux catalog's read-only checks on one guest
// take at most 3 round trips with gathering (one per command without),
// and their results and evidence are the same either way; the evidence
// of a gathered command says it came from the snapshot.
func TestGatherFirst(t *testing.T) {
	ro, bare := readOnlyCatalog()
	if len(ro) < 14 {
		t.Fatalf("only %d read-only checks in the Linux catalog", len(ro))
	}
	for _, p := range []string{"kvm", "hyperv-gen2"} {
		t.Run(p, func(t *testing.T) { gatherFirst(t, p, ro, bare) })
	}
}

func gatherFirst(t *testing.T, platform string, ro, bare []suites.Check) {
	alone, n1 := runTranscript(t, platform, bare)
	gathered, n2 := runTranscript(t, platform, ro)
	t.Logf("%d read-only checks: %d round trips one by one, %d gathered", len(ro), n1, n2)
	if n2 > 3 {
		t.Errorf("gathered: %d round trips, want at most 3", n2)
	}
	if n1 <= n2 {
		t.Errorf("one by one took %d round trips, gathered %d: nothing was gathered", n1, n2)
	}
	a, g := comparable(t, alone), comparable(t, gathered)
	if a != g {
		t.Errorf("results differ with gathering:\n--- one by one\n%s\n--- gathered\n%s", a, g)
	}
	reads := map[string][]string{}
	for _, c := range ro {
		reads[c.ID] = c.Reads
	}
	for _, r := range gathered.Results {
		if r.Status == reports.Error {
			t.Errorf("%s ERROR: %s", r.Check, r.Reason)
		}
		for _, e := range r.Evidence {
			if e.Command != "" && slices.Contains(reads[r.Check], e.Command) && !strings.Contains(e.Gathered, "snapshot taken") {
				t.Errorf("%s: %q ran live, or its evidence does not say it came from the snapshot (%q)", r.Check, e.Step, e.Gathered)
			}
		}
	}
	for _, r := range alone.Results {
		for _, e := range r.Evidence {
			if e.Gathered != "" {
				t.Errorf("%s: gathered without declared reads: %q", r.Check, e.Gathered)
			}
		}
	}
}

// TestSnapshotDroppedAfterChange: a check that is not read-only drops the
// snapshot, so a read-only check after it reads the guest again and sees
// the change; nothing is served stale. The guest is a real shell.
func TestSnapshotDroppedAfterChange(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(state, []byte("before\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	read := "cat " + transport.Quote(state)
	look := func(id string) suites.Check {
		return suites.Check{ID: id, Area: "platform", Title: id, Timeout: 5 * time.Second, Reads: []string{read},
			Run: func(t *suites.T) { t.Run("read the state", read) }}
	}
	change := suites.Check{ID: "disk.change", Area: "disk", Title: "change", Timeout: 5 * time.Second,
		Run: func(t *suites.T) { t.Run("change the state", "echo after > "+transport.Quote(state)) }}
	h, d := newFakeHost(), &fakeDial{}
	d.answer = func(ctx context.Context, cmd transport.Command) (transport.Result, error, bool) {
		if strings.Contains(cmd.Cmd, "os-release") || strings.HasPrefix(cmd.Cmd, "test -x") {
			return transport.Result{}, nil, false
		}
		c := exec.CommandContext(ctx, "sh", "-c", cmd.Cmd)
		var o, e bytes.Buffer
		c.Stdout, c.Stderr = &o, &e
		err := c.Run()
		r := transport.Result{Cmd: cmd.Cmd, Stdout: o.Bytes(), Stderr: e.Bytes()}
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			r.Exit, err = ee.ExitCode(), nil
		}
		return r, err, true
	}
	o := opts(t, h, d, look("platform.look1"), look("platform.look2"), change, look("platform.look3"))
	run, _, err := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"), o)
	if err != nil {
		t.Fatal(err)
	}
	tg := run.Targets[0]
	got := map[string]string{}
	for _, r := range tg.Results {
		for _, e := range r.Evidence {
			got[r.Check] = e.Output + " | " + e.Gathered
		}
	}
	t.Logf("%v", got)
	for id, want := range map[string]string{"platform.look1": "before", "platform.look2": "before", "platform.look3": "after"} {
		if out, _, _ := strings.Cut(got[id], " | "); out != want {
			t.Errorf("%s read %q, want %q (served stale after a change?)", id, got[id], want)
		}
		if !strings.Contains(got[id], "snapshot taken") {
			t.Errorf("%s not served from a snapshot: %q", id, got[id])
		}
	}
	if strings.Contains(got["disk.change"], "snapshot") {
		t.Errorf("a changing command was served from the snapshot: %q", got["disk.change"])
	}
	// look1 and look2 share one gather; look3 needs its own.
	if a, b := got["platform.look1"], got["platform.look3"]; a[strings.Index(a, "|"):] == b[strings.Index(b, "|"):] {
		t.Errorf("look3 served from the first snapshot: %q", b)
	}
}

// markerChecks are ro's read-only checks (their IDs, so the profile
// applies to them) reduced to one read each, "echo read-marker-I",
// runnable anywhere; timeout, when set, replaces theirs.
func markerChecks(ro []suites.Check, timeout time.Duration) []suites.Check {
	var checks []suites.Check
	for i, c := range ro {
		read := fmt.Sprintf("echo read-marker-%d", i)
		c.Reads, c.Needs, c.Keys, c.Hypervisors, c.OS = []string{read}, nil, nil, nil, nil
		if timeout > 0 {
			c.Timeout = timeout
		}
		c.Run = func(t *suites.T) { t.Run("read", read) }
		checks = append(checks, c)
	}
	return checks
}

// markerAnswer runs a marker check's command (alone or in a gather) with
// the local sh; anything else goes to the fake guest's defaults.
func markerAnswer(ctx context.Context, cmd transport.Command) (transport.Result, error, bool) {
	if !strings.Contains(cmd.Cmd, "read-marker") {
		return transport.Result{}, nil, false
	}
	out, err := exec.CommandContext(ctx, "sh", "-c", cmd.Cmd).Output()
	return transport.Result{Cmd: cmd.Cmd, Stdout: out}, err, true
}

// TestGatherLeavesOutProfileSkippedChecks: a read-only check that the
// profile skips adds nothing to the gather (its commands never reach the
// guest) and does not break its neighbours' block.
func TestGatherLeavesOutProfileSkippedChecks(t *testing.T) {
	ro, _ := readOnlyCatalog()
	checks := markerChecks(ro[:3], 0)
	overrides := filepath.Join(t.TempDir(), "overrides.yaml")
	if err := os.WriteFile(overrides, []byte("name: skip-one\nchecks:\n  "+ro[1].ID+":\n    skip: not on this host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, d := newFakeHost(), &fakeDial{}
	var mu sync.Mutex
	var sent []string
	d.answer = func(ctx context.Context, cmd transport.Command) (transport.Result, error, bool) {
		mu.Lock()
		sent = append(sent, cmd.Cmd)
		mu.Unlock()
		return markerAnswer(ctx, cmd)
	}
	o := opts(t, h, d, checks...)
	run, _, err := runP(context.Background(), testPlan(t, "profile_overrides: "+overrides+"\nmatrix: [{host: h1, image: tiny}]\n"), o)
	if err != nil {
		t.Fatal(err)
	}
	tg := run.Targets[0]
	if r := result(t, tg, ro[1].ID); r.Status != reports.Skip {
		t.Fatalf("%s: %s %s, want SKIP by the profile", ro[1].ID, r.Status, r.Reason)
	}
	gathers := 0
	for _, c := range sent {
		if strings.Contains(c, "read-marker-1") {
			t.Errorf("the skipped check's command reached the guest: %q", c)
		}
		if _, _, ok := suites.GatherCommands(c); ok {
			gathers++
		}
	}
	if gathers != 1 {
		t.Errorf("%d gathers, want 1 for the whole block", gathers)
	}
	for _, id := range []string{ro[0].ID, ro[2].ID} {
		r := result(t, tg, id)
		if r.Status != reports.Pass || len(r.Evidence) == 0 || !strings.Contains(r.Evidence[0].Gathered, "snapshot taken") {
			t.Errorf("%s: %s %s, evidence %+v: want PASS from the snapshot", id, r.Status, r.Reason, r.Evidence)
		}
	}
}

// TestGatherHonoursThePlanCheckTimeout: the plan's timeouts.check caps
// the gather as it caps each check, instead of a fixed 2 minutes.
func TestGatherHonoursThePlanCheckTimeout(t *testing.T) {
	ro, _ := readOnlyCatalog()
	checks := markerChecks(ro[:2], 10*time.Minute)
	h, d := newFakeHost(), &fakeDial{}
	var mu sync.Mutex
	var bounds []time.Duration
	d.answer = func(ctx context.Context, cmd transport.Command) (transport.Result, error, bool) {
		if _, _, ok := suites.GatherCommands(cmd.Cmd); ok {
			mu.Lock()
			bounds = append(bounds, cmd.Timeout)
			mu.Unlock()
		}
		return markerAnswer(ctx, cmd)
	}
	o := opts(t, h, d, checks...)
	p := parsePlan(t, `name: test
hosts:
  h1: {driver: libvirt, uri: "qemu:///system"}
images:
  tiny: {path: disk.qcow2, memory_mb: 128}
timeouts: {ready: 2s, provision: 5s, destroy: 1s, check: 7s}
matrix: [{host: h1, image: tiny}]
`)
	if _, _, err := runP(context.Background(), p, o); err != nil {
		t.Fatal(err)
	}
	if len(bounds) != 1 {
		t.Fatalf("%d gathers, want 1", len(bounds))
	}
	if bounds[0] > 7*time.Second || bounds[0] < 6*time.Second {
		t.Errorf("the gather was given %s, want the plan's 7s check timeout", bounds[0])
	}
}
