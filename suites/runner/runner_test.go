package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	_ "github.com/virtcert/virtcert/drivers/all"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/journal"
	"github.com/virtcert/virtcert/resolve"
	"github.com/virtcert/virtcert/suites"
)

var (
	okCheck   = suites.Check{ID: "platform.ok", Area: "platform", Title: "ok", Timeout: 5 * time.Second, Run: func(t *suites.T) { t.Run("say ok", "echo ok") }}
	failCheck = suites.Check{ID: "disk.bad", Area: "disk", Title: "bad", Timeout: 5 * time.Second, Run: func(t *suites.T) {
		r := t.Run("run false", "false")
		t.Expect("exit status", r.OK(), "0", "1", "")
	}}
	peerCheck = suites.Check{ID: "network.peer", Area: "network", Title: "peer", Needs: []string{suites.NeedPeer}, Timeout: 5 * time.Second, Run: func(t *suites.T) {
		if t.Target.Peer == nil || t.Target.Peer.OS == nil {
			t.Fatalf("no peer")
		}
		t.RunOn(t.Target.Peer.OS, "ping peer", "echo ok")
	}}
	hangCheck = suites.Check{ID: "clock.hang", Area: "clock", Title: "hang", Timeout: time.Minute, Run: func(t *suites.T) {
		started.Store(true)
		t.Run("sleep", "sleep")
	}}
	hypervOnly = suites.Check{ID: "hyperv.kvp", Area: "hyperv", Title: "kvp", Hypervisors: []string{"hyperv"}, Timeout: time.Second, Run: func(t *suites.T) {}}
	started    atomic.Bool
)

func testPlan(t *testing.T, extra string) *plan.Plan {
	t.Helper()
	return parsePlan(t, `name: test
hosts:
  h1: {driver: libvirt, uri: "qemu:///system"}
images:
  tiny: {path: disk.qcow2, memory_mb: 128}
  other: {path: disk.qcow2, memory_mb: 128}
timeouts: {ready: 2s, provision: 5s, destroy: 1s}
`+extra)
}

// parsePlan parses a plan's text beside a stand-in disk.qcow2.
func parsePlan(t *testing.T, text string) *plan.Plan {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "disk.qcow2"), []byte("not really qcow2"), 0o644)
	p, err := plan.Parse([]byte(text), "test.yaml", dir, resolve.Knowledge(nil))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// testOptions are a run's options and the catalog its plan resolves with.
type testOptions struct {
	Options
	Checks []suites.Check
}

func opts(t *testing.T, h *fakeHost, d *fakeDial, checks ...suites.Check) testOptions {
	probe := filepath.Join(t.TempDir(), "vcprobe")
	os.WriteFile(probe, []byte("#!probe"), 0o755)
	return testOptions{Options: Options{Out: t.TempDir(), KeyDir: t.TempDir(), Version: "test", Dial: d.dial, ProbePath: probe,
		Openers: map[string]drivers.Opener{"libvirt": func(ctx context.Context, uri string, o drivers.OpenOptions) (drivers.Host, error) { return h, nil }}},
		Checks: checks}
}

// runP resolves p with the test catalog and runs it.
func runP(ctx context.Context, p *plan.Plan, o testOptions) (*reports.Run, *Outcome, error) {
	rr, err := resolve.Resolve(p, resolve.Options{Catalog: o.Checks})
	if err != nil {
		return nil, nil, err
	}
	return Run(ctx, rr, o.Options)
}

func result(t *testing.T, tg *reports.Target, id string) *reports.Result {
	t.Helper()
	for _, r := range tg.Results {
		if r.Check == id {
			return r
		}
	}
	t.Fatalf("%s: no result for %s in %d results", tg.ID, id, len(tg.Results))
	return nil
}

// TestPeerFromPlan: peer: HOST/IMAGE gives each target a peer guest of
// that image (here the 384 MiB "other"), named after the target, and the
// two-guest check runs against it.
func TestPeerFromPlan(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	o := opts(t, h, d, okCheck, peerCheck)
	p := testPlan(t, "matrix:\n  - {host: h1, image: tiny}\n  - {host: h1, image: other}\npeer: h1/other\n")
	p.Images["other"].MemoryMB = 384
	run, _, err := runP(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range run.Targets {
		if r := result(t, tg, "network.peer"); r.Status != reports.Pass {
			t.Errorf("%s peer: %s %s", tg.ID, r.Status, r.Reason)
		}
	}
	ev := strings.Join(h.events, "\n")
	for _, want := range []string{"-h1-tiny-peer mem=384", "-h1-other-peer mem=384", "-h1-tiny mem=128"} {
		if !strings.Contains(ev, want) {
			t.Errorf("no provision %q in:\n%s", want, ev)
		}
	}
	if left := h.names(); len(left) != 0 {
		t.Errorf("guests left: %v", left)
	}
}

func TestRunHappyAndFail(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	o := opts(t, h, d, okCheck, failCheck, peerCheck, hypervOnly)
	run, out, err := runP(context.Background(), testPlan(t, ""), o)
	if err != nil {
		t.Fatal(err)
	}
	if !ValidLabel(run.ID) || !run.Complete || len(run.Targets) != 2 {
		t.Fatalf("run %s complete=%v targets=%d", run.ID, run.Complete, len(run.Targets))
	}
	for _, tg := range run.Targets {
		if r := result(t, tg, "platform.ok"); r.Status != reports.Pass {
			t.Errorf("%s ok: %s %s", tg.ID, r.Status, r.Reason)
		}
		if r := result(t, tg, "disk.bad"); r.Status != reports.Fail || len(r.Evidence) == 0 {
			t.Errorf("%s bad: %s evidence=%d", tg.ID, r.Status, len(r.Evidence))
		}
		if r := result(t, tg, "network.peer"); r.Status != reports.Pass {
			t.Errorf("%s peer: %s %s", tg.ID, r.Status, r.Reason)
		}
		if r := result(t, tg, "hyperv.kvp"); r.Status != reports.NA || r.Reason != suites.NotApplicable(hypervOnly, "qemu", "linux") {
			t.Errorf("%s hyperv: %s %q", tg.ID, r.Status, r.Reason)
		}
		if tg.Guest.Distro != "Fake Linux 1" || tg.Guest.Kernel != "6.1.0-fake" || len(tg.Guest.ImageSHA256) != 64 || tg.Profile != "kvm-tcg" {
			t.Errorf("fingerprint: %+v profile %s", tg.Guest, tg.Profile)
		}
		if len(tg.Artifacts) == 0 {
			t.Errorf("%s: console not saved", tg.ID)
		}
	}
	if run.Verdict() != reports.NotCertified || out.Setup != nil {
		t.Errorf("verdict %s setup %v", run.Verdict(), out.Setup)
	}
	if left := h.names(); len(left) != 0 {
		t.Errorf("guests left: %v", left)
	}
	// 2 targets × (guest + peer).
	if h.provCount != 4 {
		t.Errorf("provisioned %d guests, want 4", h.provCount)
	}
	// Every guest destroyed after it was provisioned, the peer before its main guest.
	ev := strings.Join(h.events, "\n")
	for _, tg := range run.Targets {
		main := tg.Guest.Name
		if strings.Index(ev, "destroy "+main+"-peer") > strings.Index(ev, "destroy "+main+"\n") && strings.Contains(ev, "destroy "+main+"\n") {
			t.Errorf("peer not destroyed before its main guest:\n%s", ev)
		}
	}
	for _, c := range d.conns {
		if c.uploaded[HelperPath] != 0 {
			t.Errorf("vcprobe uploaded, though no check uses it")
		}
		if !c.closed {
			t.Errorf("connection not closed")
		}
	}
	if ks, _ := filepath.Glob(filepath.Join(o.KeyDir, "*", "*")); len(ks) > 0 {
		t.Errorf("per-run private key not removed: %v", ks)
	}
	// The journal replays to the same verdicts.
	re, err := journal.Replay(o.Out)
	if err != nil {
		t.Fatal(err)
	}
	if !re.Complete || re.Verdict() != run.Verdict() || len(re.Targets) != 2 || len(re.Targets[0].Results) != 4 {
		t.Errorf("replay: complete=%v verdict=%s", re.Complete, re.Verdict())
	}
	if _, err := os.Stat(filepath.Join(o.Out, "plan.yaml")); err != nil {
		t.Errorf("resolved plan not saved: %v", err)
	}
}

func TestSetupFailuresAreIsolated(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	h.failProv["-h1-other"] = drivers.Errorf(drivers.ClassInput, "provision", "base volume not found")
	o := opts(t, h, d, okCheck)
	run, out, err := runP(context.Background(), testPlan(t, ""), o)
	if err != nil {
		t.Fatal(err)
	}
	var other, tiny *reports.Target
	for _, tg := range run.Targets {
		if tg.Image == "other" {
			other = tg
		} else {
			tiny = tg
		}
	}
	if other.Error == "" || result(t, other, "platform.ok").Status != reports.Error {
		t.Errorf("failed target: error %q", other.Error)
	}
	if result(t, tiny, "platform.ok").Status != reports.Pass {
		t.Errorf("the other target did not carry on")
	}
	if out.Setup == nil || drivers.ClassOf(out.Setup.Errs[0]) != drivers.ClassInput {
		t.Errorf("setup error not classified as input: %v", out.Setup)
	}
}

func TestNoAddressIsGuestFail(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	h.noAddr["-h1-tiny"] = true
	run, out, _ := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"), opts(t, h, d, okCheck))
	tg := run.Targets[0]
	if r := result(t, tg, "platform.ok"); r.Status != reports.Fail || !strings.Contains(r.Reason, "never got an address") {
		t.Errorf("got %s %q", r.Status, r.Reason)
	}
	if out.Setup == nil || drivers.ClassOf(out.Setup.Errs[0]) != drivers.ClassGuest {
		t.Errorf("class: %v", out.Setup)
	}
	if len(h.names()) != 0 {
		t.Errorf("guest left after setup failure: %v", h.names())
	}
}

func TestHostKeyMismatchIsSecurity(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{hostKey: &transport.HostKeyError{Addr: "192.168.150.10:22", Want: "SHA256:a", Got: "SHA256:b"}}
	run, out, _ := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"), opts(t, h, d, okCheck))
	r := result(t, run.Targets[0], "platform.ok")
	if r.Status != reports.Error || !strings.Contains(r.Reason, "SECURITY") {
		t.Errorf("got %s %q", r.Status, r.Reason)
	}
	if drivers.ClassOf(out.Setup.Errs[0]) != drivers.ClassSecurity {
		t.Errorf("class %v", drivers.ClassOf(out.Setup.Errs[0]))
	}
}

func TestTransientProvisionRetried(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	h.transientN = 1
	run, _, _ := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"), opts(t, h, d, okCheck))
	if r := result(t, run.Targets[0], "platform.ok"); r.Status != reports.Pass {
		t.Errorf("transient failure not retried: %s %q", r.Status, r.Reason)
	}
}

func TestGuestCrashMidCheck(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	crash := suites.Check{ID: "lifecycle.crash", Area: "lifecycle", Title: "crash", Timeout: 5 * time.Second, Run: func(t *suites.T) {
		g := t.Target.Guest.(*fakeGuest)
		g.h.mu.Lock()
		g.state = drivers.StateCrashed
		g.h.mu.Unlock()
		x := fakeOf(t.Target.OS)
		x.mu.Lock()
		x.broken = errors.New("connection reset")
		x.mu.Unlock()
		t.Run("poke", "echo")
	}}
	d.fail = nil
	run, _, _ := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"), opts(t, h, d, crash, okCheck))
	tg := run.Targets[0]
	if r := result(t, tg, "lifecycle.crash"); r.Status != reports.Fail || !strings.Contains(r.Reason, "crashed") {
		t.Errorf("crash check: %s %q", r.Status, r.Reason)
	}
	// okCheck sorts after crash here (order given), and must not hang.
	if r := result(t, tg, "platform.ok"); r.Status != reports.Fail || !strings.Contains(r.Reason, "not run") {
		t.Errorf("after crash: %s %q", r.Status, r.Reason)
	}
	if len(h.names()) != 0 {
		t.Errorf("crashed guest not destroyed")
	}
}

// A kernel panic without pvpanic leaves the domain "running": the console
// shows the panic, and the verdict is the guest's FAIL, not a harness ERROR.
func TestGuestPanicSeenOnConsole(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	panicCheck := suites.Check{ID: "lifecycle.panic", Area: "lifecycle", Title: "panic", Timeout: 5 * time.Second, Run: func(t *suites.T) {
		g := t.Target.Guest.(*fakeGuest)
		g.h.mu.Lock()
		g.console = "[   42.1] Kernel panic - not syncing: sysrq triggered crash\r\n[   42.2] CPU: 0 PID: 1\n"
		g.h.mu.Unlock()
		x := fakeOf(t.Target.OS)
		x.mu.Lock()
		x.broken = errors.New("connection reset")
		x.mu.Unlock()
		t.Run("poke", "echo")
	}}
	run, _, _ := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"), opts(t, h, d, panicCheck, okCheck))
	tg := run.Targets[0]
	r := result(t, tg, "lifecycle.panic")
	if r.Status != reports.Fail || !strings.Contains(r.Reason, "Kernel panic - not syncing: sysrq triggered crash)") {
		t.Errorf("panic check: %s %q", r.Status, r.Reason)
	}
	if r := result(t, tg, "platform.ok"); r.Status != reports.Fail || !strings.Contains(r.Reason, "not run: guest kernel panicked") {
		t.Errorf("after panic: %s %q", r.Status, r.Reason)
	}
	if got := panicLine([]byte("boot ok\nlogin:\n")); got != "" {
		t.Errorf("panicLine on a clean console: %q", got)
	}
}

func TestCancelThenResume(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	o := opts(t, h, d, okCheck, hangCheck, failCheck)
	p := testPlan(t, "matrix: [{host: h1, image: tiny}]\n")
	ctx, cancel := context.WithCancel(context.Background())
	started.Store(false)
	go func() {
		for !started.Load() {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	run, _, err := runP(ctx, p, o)
	if err != nil {
		t.Fatal(err)
	}
	if run.Complete || run.Verdict() != reports.Incomplete {
		t.Errorf("interrupted run: complete=%v verdict=%s", run.Complete, run.Verdict())
	}
	if len(h.names()) != 0 {
		t.Errorf("guests left after cancel: %v", h.names())
	}
	rep, _ := journal.Replay(o.Out)
	if rep.Complete || len(rep.Targets[0].Results) != 1 {
		t.Fatalf("journal after cancel: complete=%v results=%d", rep.Complete, len(rep.Targets[0].Results))
	}
	// Resume: the hang check now passes; platform.ok must not run again.
	var okRuns atomic.Int32
	ok2 := okCheck
	ok2.Run = func(t *suites.T) { okRuns.Add(1) }
	hang2 := hangCheck
	hang2.Run = func(t *suites.T) { t.Run("quick", "echo") }
	h.live["leftover"] = &fakeGuest{h: h, name: "leftover", label: run.ID}
	o.Resume, o.Checks = true, []suites.Check{ok2, hang2, failCheck}
	run2, _, err := runP(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	if okRuns.Load() != 0 {
		t.Errorf("finished check ran again on resume")
	}
	if run2.ID != run.ID || !run2.Complete || len(run2.Targets[0].Results) != 3 {
		t.Fatalf("resumed: id %s/%s complete=%v results=%d", run2.ID, run.ID, run2.Complete, len(run2.Targets[0].Results))
	}
	if result(t, run2.Targets[0], "clock.hang").Status != reports.Pass {
		t.Errorf("unfinished check not run on resume")
	}
	if len(h.names()) != 0 {
		t.Errorf("leftovers not swept on resume: %v", h.names())
	}
	rep, _ = journal.Replay(o.Out)
	if !rep.Complete || len(rep.Targets[0].Results) != 3 {
		t.Errorf("journal after resume: complete=%v results=%d", rep.Complete, len(rep.Targets[0].Results))
	}
}

func TestKeepOnFailure(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	o := opts(t, h, d, failCheck)
	o.KeepOnFailure = true
	_, out, _ := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"), o)
	if len(out.Kept) != 1 || len(h.names()) != 1 {
		t.Fatalf("kept %v, live %v", out.Kept, h.names())
	}
	cfg, err := os.ReadFile(out.Kept[0].SSHConfig)
	if err != nil || !strings.Contains(string(cfg), "StrictHostKeyChecking yes") || !strings.Contains(out.Kept[0].Command, "ssh -F") {
		t.Errorf("ssh config: %s %v", cfg, err)
	}
	kh, _ := os.ReadFile(filepath.Join(filepath.Dir(out.Kept[0].SSHConfig), "known_hosts"))
	if !strings.HasPrefix(string(kh), "192.168.150.10 ssh-ed25519 ") {
		t.Errorf("known_hosts: %q", kh)
	}
	// Regression (issue 11, finding 8): the kept guest's private key
	// stayed in the run directory and was sealed into the manifest. It
	// lives outside it, and the ssh_config names it.
	keys, _ := filepath.Glob(filepath.Join(o.KeyDir, "*", "id_ed25519"))
	if len(keys) != 1 {
		t.Fatalf("kept keys: %v", keys)
	}
	key, _ := filepath.Abs(keys[0])
	st, err := os.Stat(key)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("kept key: %v %v", st, err)
	}
	if !strings.Contains(string(cfg), "IdentityFile "+key+"\n") {
		t.Errorf("ssh_config does not name the key %s:\n%s", key, cfg)
	}
	filepath.WalkDir(o.Out, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("PRIVATE KEY")) {
				t.Errorf("a private key in the run directory: %s", p)
			}
		}
		return nil
	})
}

// A run that used a password never writes it anywhere: journal, plan copy,
// artifacts, progress.
func TestSecretsStayOut(t *testing.T) {
	const secret = "s3cr3t-MARKER-7f1d"
	t.Setenv("VC_TEST_PW", secret)
	h, d := newFakeHost(), &fakeDial{}
	o := opts(t, h, d, okCheck, failCheck)
	var got drivers.Secret
	o.Openers["libvirt"] = func(ctx context.Context, uri string, oo drivers.OpenOptions) (drivers.Host, error) {
		got = oo.Password
		return h, nil
	}
	var (
		progress strings.Builder
		mu       sync.Mutex
	)
	o.Progress = progressFunc(func(target, format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(&progress, format+"\n", args...)
	})
	p := testPlan(t, "")
	p.Hosts["h1"].PasswordEnv = "VC_TEST_PW"
	run, _, err := runP(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	if got.Reveal() != secret {
		t.Fatalf("password not passed to the driver")
	}
	b, _ := json.Marshal(run)
	if strings.Contains(string(b), secret) || strings.Contains(progress.String(), secret) {
		t.Errorf("secret in results or progress")
	}
	filepath.WalkDir(o.Out, func(path string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			if b, _ := os.ReadFile(path); strings.Contains(string(b), secret) {
				t.Errorf("secret written to %s", path)
			}
		}
		return nil
	})
}

type progressFunc func(target, format string, args ...any)

func (f progressFunc) Event(target, format string, args ...any) { f(target, format, args...) }

// After a reboot the guest presents another host key: its remaining checks
// stop with a security error, and the run reports a security failure.
func TestHostKeyChangesAfterReboot(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	reboot := suites.Check{ID: "lifecycle.reboot", Area: "lifecycle", Title: "reboot", Disruptive: true, Timeout: 5 * time.Second, Run: func(t *suites.T) {
		d.mu.Lock()
		d.hostKey = &transport.HostKeyError{Addr: "192.168.150.10:22", Want: "SHA256:a", Got: "SHA256:evil"}
		d.mu.Unlock()
		t.Target.OS.Close()
	}}
	run, out, _ := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"), opts(t, h, d, reboot, okCheck))
	tg := run.Targets[0]
	if r := result(t, tg, "platform.ok"); r.Status != reports.Error || !strings.Contains(r.Reason, "SECURITY") {
		t.Errorf("after key change: %s %q", r.Status, r.Reason)
	}
	if out.Setup == nil || drivers.ClassOf(out.Setup.Errs[0]) != drivers.ClassSecurity {
		t.Errorf("no security error: %v", out.Setup)
	}
	if len(h.names()) != 0 {
		t.Errorf("guest left")
	}
}

// A guest that comes back from a reboot with another address is found
// again through the driver.
func TestReconnectFollowsAddress(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	var moved atomic.Bool
	reboot := suites.Check{ID: "lifecycle.reboot", Area: "lifecycle", Title: "reboot", Disruptive: true, Timeout: 30 * time.Second, Run: func(t *suites.T) {
		moved.Store(true)
		t.Target.OS.Close()
		x, err := t.Target.Reconnect(t.Context())
		if err != nil {
			t.Fatalf("reconnect: %v", err)
		}
		t.Target.OS = x
		if t.Target.Address != "192.168.150.11" {
			t.Fatalf("after Reconnect the check sees address %q, not the new lease", t.Target.Address)
		}
	}}
	var after atomic.Value
	addrCheck := suites.Check{ID: "platform.addr", Area: "platform", Title: "addr", Timeout: 5 * time.Second, Run: func(t *suites.T) {
		after.Store(t.Target.Address)
	}}
	dial := d.dial
	o := opts(t, h, d, reboot, okCheck, addrCheck)
	o.Dial = func(ctx context.Context, addr string, a transport.Access) (transport.Transport, string, error) {
		if moved.Load() && addr != "192.168.150.11" {
			<-ctx.Done()
			return nil, "", ctx.Err()
		}
		return dial(ctx, addr, a)
	}
	h.addrOverride = func() string {
		if moved.Load() {
			return "192.168.150.11"
		}
		return ""
	}
	run, _, _ := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"), o)
	tg := run.Targets[0]
	if r := result(t, tg, "lifecycle.reboot"); r.Status != reports.Pass {
		t.Errorf("reboot: %s %q", r.Status, r.Reason)
	}
	if r := result(t, tg, "platform.ok"); r.Status != reports.Pass {
		t.Errorf("after reboot: %s %q", r.Status, r.Reason)
	}
	if a, _ := after.Load().(string); a != "192.168.150.11" {
		t.Errorf("a check after the reboot sees address %q, not the new lease", a)
	}
}

// The run's own timeout bounds everything: a hanging check is cancelled,
// the guest destroyed, and the run reads INCOMPLETE.
func TestRunTimeout(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	p := testPlan(t, "matrix: [{host: h1, image: tiny}]\n")
	p.Timeouts.Run = plan.Duration(time.Second)
	t0 := time.Now()
	run, _, err := runP(context.Background(), p, opts(t, h, d, hangCheck, okCheck))
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took > 15*time.Second {
		t.Errorf("run took %s with a 1s run timeout", took)
	}
	if run.Complete || run.Verdict() != reports.Incomplete {
		t.Errorf("complete %v verdict %s", run.Complete, run.Verdict())
	}
	if len(h.names()) != 0 {
		t.Errorf("guest left after the run timeout")
	}
}
