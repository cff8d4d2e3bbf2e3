package e2e

// The reliability set of issue 6 through the real binary on the lab:
// signals at points E's TestSIGINT/TestSIGKILL do not cover (readiness,
// SIGTERM, a forced second signal), a guest that crashes or is destroyed
// mid-check and one whose SSH drops, next to a healthy guest of the same
// matrix; guests that never get an address or never answer SSH; a full
// output disk; and (gated by VIRTCERT_E2E_DISRUPTIVE=1, see below)
// libvirtd killed and restarted, and a libvirtd that stops answering.
//
// Every case ends with nothing of its run left on the lab (virsh and
// `virtcert sweep --dry-run`), the finished results kept (journal and
// results.json agree), the right exit code, and a bounded duration.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/journal"
)

// relImage is one image of a reliability matrix: the tiny guest with
// virtcert.fault= switches (empty: healthy).
type relImage struct{ name, faults string }

// matrixPlan writes a plan with one lab host and the given tiny-guest
// images (one target each), all run at once.
func matrixPlan(t *testing.T, imgs []relImage, timeouts, extra string) string {
	t.Helper()
	d := tinyDir()
	cmdline, _ := os.ReadFile(filepath.Join(d, "cmdline"))
	var b strings.Builder
	fmt.Fprintf(&b, "name: e2e-reliability\nhosts:\n  lab:\n    driver: libvirt\n    uri: lab\n    options: {network: virtcert, pool: virtcert}\nimages:\n")
	for _, im := range imgs {
		cl := strings.TrimSpace(string(cmdline))
		if im.faults != "" {
			cl += " virtcert.fault=" + im.faults
		}
		fmt.Fprintf(&b, "  %s:\n    path: %s/disk.qcow2\n    kernel: %s/vmlinuz\n    initrd: %s/initrd.img\n    cmdline: %q\n    memory_mb: 256\n",
			im.name, d, d, d, cl)
	}
	if timeouts == "" {
		timeouts = "{provision: 2m, ready: 4m, destroy: 3s, run: 20m}"
	}
	fmt.Fprintf(&b, "parallel: %d\ntimeouts: %s\n%s", len(imgs), timeouts, extra)
	p := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitOut polls the whole stdout so far for re (several waiters may
// watch one process, unlike waitLine, which consumes lines) and returns
// the first submatch (or the match).
func waitOut(t *testing.T, p *proc, re string, d time.Duration) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(d)
	for {
		if m := rx.FindStringSubmatch(p.out()); m != nil {
			return m[len(m)-1]
		}
		select {
		case <-p.done:
			if m := rx.FindStringSubmatch(p.out()); m != nil {
				return m[len(m)-1]
			}
			t.Fatalf("virtcert exited (%d) before printing %q\nstdout:\n%s\nstderr:\n%s", p.code, re, p.out(), p.errOut())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %s\nstdout:\n%s", re, d, p.out())
		}
	}
}

// domainOf waits for the runner to name target's domain.
func domainOf(t *testing.T, p *proc, target string, d time.Duration) string {
	return waitOut(t, p, ` `+regexp.QuoteMeta(target)+`  provisioning (vc-\S+)`, d)
}

// resultsKept checks that every result the journal holds is in
// results.json with the same status: nothing finished is lost.
func resultsKept(t *testing.T, out string) *reports.Run {
	t.Helper()
	recs, bad, err := journal.Read(out)
	if err != nil {
		t.Fatalf("journal: %v", err)
	}
	if bad > 0 {
		t.Logf("journal: %d unreadable record(s) (a torn last line is allowed)", bad)
	}
	run := readRun(t, out)
	got := map[string]reports.Status{}
	for _, tg := range run.Targets {
		for _, r := range tg.Results {
			got[tg.ID+" "+r.Check] = r.Status
		}
	}
	n := 0
	for _, r := range recs {
		if r.Type == journal.CheckResult && r.Result != nil {
			n++
			if st, ok := got[r.Target+" "+r.Result.Check]; !ok {
				t.Errorf("journal has %s %s (%s), results.json lacks it", r.Target, r.Result.Check, r.Result.Status)
			} else if st != r.Result.Status && r.Result.Status != reports.Fail && r.Result.Status != reports.Error {
				t.Errorf("%s %s: journal %s, results.json %s", r.Target, r.Result.Check, r.Result.Status, st)
			}
		}
	}
	t.Logf("%d finished result(s) in the journal, all in results.json", n)
	return run
}

func targetOf(run *reports.Run, id string) *reports.Target {
	for _, tg := range run.Targets {
		if tg.ID == id {
			return tg
		}
	}
	return nil
}

// describe renders a target's outcome for failure messages.
func describe(tg *reports.Target) string {
	if tg == nil {
		return "<no target>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s error=%q\n", tg.ID, tg.Error)
	for _, r := range tg.Results {
		fmt.Fprintf(&b, "  %s %s retries=%d: %s\n", r.Check, r.Status, r.Retries, r.Reason)
	}
	return b.String()
}

// signalCase: SIGINT during readiness, SIGTERM mid-check, and a second
// SIGINT that forces the exit before the cleanup finishes (then `sweep
// --run` removes what is left). E's TestSIGINT covers SIGINT during boot
// and mid-check; TestSIGKILL covers SIGKILL + sweep + report + resume.
func TestReliabSignals(t *testing.T) {
	need(t)
	t.Parallel()
	cases := []struct {
		name   string
		at     string // stdout pattern to signal at
		sig    syscall.Signal
		second bool
		code   int
	}{
		{"SIGINT during readiness", `lab/tiny\s+waiting for readiness`, syscall.SIGINT, false, 130},
		{"SIGTERM mid-check", ` lab/tiny  e2e\.slow \.\.\.`, syscall.SIGTERM, false, 143},
		{"second SIGINT forces", ` lab/tiny  e2e\.slow \.\.\.`, syscall.SIGINT, true, 130},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			guestSlot(t)
			t0 := time.Now()
			out := filepath.Join(t.TempDir(), "run")
			p := start(t, []string{"VIRTCERT_E2E_SLOW=300"}, "run", "--plan", tinyPlan(t, "suites: [e2e]\n"), "--out", out)
			waitOut(t, p, c.at, 6*time.Minute)
			ts := time.Now()
			p.cmd.Process.Signal(c.sig)
			if c.second {
				time.Sleep(300 * time.Millisecond)
				p.cmd.Process.Signal(syscall.SIGINT)
			}
			code := p.wait(t, 2*time.Minute)
			took := time.Since(ts)
			t.Logf("%s: exit %d, %s after the signal (test %s)", c.name, code, took.Round(time.Millisecond), time.Since(t0).Round(time.Second))
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, p.out(), p.errOut())
			}
			label := labelOf(t, p.out())
			if c.second {
				if took > 20*time.Second {
					t.Errorf("a second SIGINT took %s to exit", took)
				}
				if !strings.Contains(p.errOut(), label) || !strings.Contains(p.errOut(), "sweep") {
					t.Errorf("forced exit does not name the run and sweep:\n%s", p.errOut())
				}
				code, so, se := virtcert(t, nil, 2*time.Minute, "sweep", "--uri", "lab", "--run", label)
				if code != 0 {
					t.Errorf("sweep --run %s: exit %d\n%s%s", label, code, so, se)
				}
				t.Logf("sweep after the forced exit:\n%s", so)
			}
			if _, err := os.Stat(filepath.Join(out, "results.json")); err == nil {
				run := resultsKept(t, out)
				if run.Complete || run.Verdict() != reports.Incomplete {
					t.Errorf("interrupted run: complete %v verdict %s", run.Complete, run.Verdict())
				}
				if c.sig == syscall.SIGTERM && statusOf(run, "e2e.fail") != reports.Pass {
					t.Errorf("e2e.fail finished before the signal but is %q in results.json", statusOf(run, "e2e.fail"))
				}
			} else if !c.second {
				t.Errorf("no results.json after an orderly shutdown: %v", err)
			} else {
				// Forced: reports may not be written; the journal is.
				code, so, se := virtcert(t, nil, time.Minute, "report", out)
				if code != 0 || !strings.Contains(so, "INCOMPLETE") {
					t.Errorf("report of the forced run: exit %d\n%s%s", code, so, se)
				}
				resultsKept(t, out)
			}
			assertClean(t, label)
		})
	}
}

// A matrix of four tiny guests: one healthy, one whose kernel panics
// during the checks (virtcert.fault=panic=N), one destroyed with virsh
// mid-check, and one whose NIC's link goes down on the host mid-check
// (an SSH drop). Each faulty target gets a clear FAIL or ERROR; the
// healthy one carries on and passes; the run exits 3 (harness could not
// finish those checks) or 1, and nothing is left.
func TestReliabGuestCrash(t *testing.T) {
	need(t)
	t.Parallel()
	guestSlots(t, 3)
	t0 := time.Now()
	out := filepath.Join(t.TempDir(), "run")
	plan := matrixPlan(t, []relImage{{"ok", ""}, {"panic", "panic=50"}, {"gone", ""}, {"nolink", ""}},
		"{provision: 2m, ready: 2m, destroy: 3s, run: 15m}", "suites: [e2e]\n")
	// The ready timeout also bounds the reconnect to a lost guest.
	// e2e.slow sleeps 60 s: the panic (50 s after dropbear starts) lands
	// in it unless readiness took most of that.
	p := start(t, []string{"VIRTCERT_E2E_SLOW=60"}, "run", "--plan", plan, "--out", out)
	gone := domainOf(t, p, "lab/gone", 6*time.Minute)
	nolink := domainOf(t, p, "lab/nolink", 6*time.Minute)
	waitOut(t, p, ` lab/gone  e2e\.slow \.\.\.`, 6*time.Minute)
	if o, err := virsh(t.Context(), "destroy", gone); err != nil {
		t.Errorf("virsh destroy %s: %v %s", gone, err, o)
	}
	tDrop := time.Now()
	waitOut(t, p, ` lab/nolink  e2e\.slow \.\.\.`, 6*time.Minute)
	if o, err := virsh(t.Context(), "domiflist", nolink); err == nil {
		for _, l := range strings.Split(o, "\n") {
			if f := strings.Fields(l); len(f) >= 5 && strings.HasPrefix(f[0], "vnet") {
				if o2, err := virsh(t.Context(), "domif-setlink", nolink, f[0], "down"); err != nil {
					t.Errorf("domif-setlink %s down: %v %s", f[0], err, o2)
				}
			}
		}
	} else {
		t.Errorf("domiflist %s: %v %s", nolink, err, o)
	}
	code := p.wait(t, 12*time.Minute)
	t.Logf("matrix with crashed guests: exit %d after %s (%s after the destroy)", code, time.Since(t0).Round(time.Second), time.Since(tDrop).Round(time.Second))
	label := labelOf(t, p.out())
	defer assertClean(t, label)
	if code != 3 && code != 1 {
		t.Errorf("exit %d, want 3 (ERROR) or 1 (FAIL)\nstdout:\n%s\nstderr:\n%s", code, p.out(), p.errOut())
	}
	run := resultsKept(t, out)
	if !run.Complete {
		t.Errorf("the run did not complete (the other targets must carry on)")
	}
	ok := targetOf(run, "lab/ok")
	for _, c := range []string{"e2e.fail", "e2e.slow", "e2e.uname"} {
		if r := findResult(ok, c); r == nil || r.Status != reports.Pass {
			t.Errorf("healthy target next to crashed ones: %s not PASS\n%s", c, describe(ok))
		}
	}
	for _, id := range []string{"lab/panic", "lab/gone", "lab/nolink"} {
		tg := targetOf(run, id)
		t.Logf("%s", describe(tg))
		if tg == nil {
			t.Errorf("%s: no target", id)
			continue
		}
		// e2e.fail ran before the fault: kept and PASS (except a panic
		// that came during readiness on a very slow lab).
		if r := findResult(tg, "e2e.fail"); id != "lab/panic" && (r == nil || r.Status != reports.Pass) {
			t.Errorf("%s: e2e.fail finished before the fault but is not PASS\n%s", id, describe(tg))
		}
		bad := tg.Error != ""
		for _, r := range tg.Results {
			if r.Status == reports.Fail || r.Status == reports.Error {
				bad = true
				if r.Reason == "" {
					t.Errorf("%s %s: %s without a reason", id, r.Check, r.Status)
				}
			}
			if r.Status == reports.Pass && r.Check != "e2e.fail" && id != "lab/panic" {
				t.Errorf("%s %s PASSed after its guest was lost", id, r.Check)
			}
		}
		if !bad {
			t.Errorf("%s: no FAIL/ERROR for a crashed guest\n%s", id, describe(tg))
		}
		if tg2 := findResult(tg, "e2e.slow"); tg2 != nil && tg2.Retries > 0 {
			t.Logf("%s e2e.slow: %d retr(ies) reported", id, tg2.Retries)
		}
	}
	if !strings.Contains(p.out(), "lab/ok") || !regexp.MustCompile(`lab/ok\s+CERTIFIED`).MatchString(p.out()) {
		t.Errorf("summary does not show lab/ok CERTIFIED:\n%s", p.out())
	}
}

func findResult(tg *reports.Target, check string) *reports.Result {
	if tg == nil {
		return nil
	}
	for _, r := range tg.Results {
		if r.Check == check {
			return r
		}
	}
	return nil
}

// A guest that never gets an address (its only NIC left down: no DHCP)
// and one that gets an address but never answers SSH (its kernel panics
// as soon as the SSH server starts): each FAILs as a readiness failure
// within the ready timeout; a healthy guest beside them passes.
func TestReliabNeverReady(t *testing.T) {
	need(t)
	t.Parallel()
	guestSlots(t, 2)
	t0 := time.Now()
	out := filepath.Join(t.TempDir(), "run")
	plan := matrixPlan(t, []relImage{{"noaddr", "linkdown=eth0"}, {"nossh", "panic=0"}},
		"{provision: 2m, ready: 60s, destroy: 3s, run: 10m}", "suites: [e2e.uname]\n")
	code, stdout, stderr := virtcert(t, nil, 6*time.Minute, "run", "--plan", plan, "--out", out)
	took := time.Since(t0)
	t.Logf("never ready: exit %d after %s", code, took.Round(time.Second))
	label := labelOf(t, stdout)
	defer assertClean(t, label)
	if code != 1 {
		t.Errorf("exit %d, want 1 (a guest that never becomes ready is a FAIL)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	// ready 60s + provisioning and teardown; well under the run timeout.
	if took > 4*time.Minute {
		t.Errorf("took %s with a 60 s ready timeout", took)
	}
	run := resultsKept(t, out)
	for id, want := range map[string]string{"lab/noaddr": `(?i)address|lease|dhcp`, "lab/nossh": `(?i)ssh|ready`} {
		tg := targetOf(run, id)
		t.Logf("%s", describe(tg))
		if tg == nil {
			t.Errorf("%s: no target", id)
			continue
		}
		text := tg.Error
		fail := false
		for _, r := range tg.Results {
			text += " " + r.Reason
			if r.Status == reports.Fail {
				fail = true
			}
			if r.Status == reports.Pass {
				t.Errorf("%s: %s PASSed on a guest that was never ready", id, r.Check)
			}
		}
		if !fail && tg.Error == "" {
			t.Errorf("%s: no FAIL\n%s", id, describe(tg))
		}
		if !regexp.MustCompile(`(?i)never got an address|never answered SSH|readiness|provision`).MatchString(text) {
			t.Errorf("%s: failure not classified as provisioning/readiness: %q", id, text)
		}
		if !regexp.MustCompile(want).MatchString(text) {
			t.Errorf("%s: reason does not say what never came (%s): %q", id, want, text)
		}
	}
}

// --out on a 200 KiB tmpfs, filled so that (a) the journal fits but the
// reports do not, (b) one 4 KiB page is left: plan.yaml takes it and the
// journal's first record does not fit. A clear error, exit 3, no guest
// left, and the journal keeps what fit (every record it holds readable).
func TestReliabDiskFull(t *testing.T) {
	need(t)
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	t.Parallel()
	for _, c := range []struct {
		name     string
		fillKiB  int
		wantRecs bool
	}{
		{"reports do not fit", 160, true},
		{"journal does not fit", 196, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			guestSlot(t)
			mnt := t.TempDir()
			if o, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", mnt).CombinedOutput(); err != nil {
				t.Skipf("cannot mount a tmpfs: %v %s", err, o)
			}
			t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
			filler := filepath.Join(mnt, "filler")
			if o, err := exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=1k", "count="+strconv.Itoa(c.fillKiB)).CombinedOutput(); err != nil {
				t.Logf("filler: %v %s", err, o)
			}
			out := filepath.Join(mnt, "run")
			t0 := time.Now()
			code, stdout, stderr := virtcert(t, nil, 8*time.Minute, "run", "--plan", tinyPlan(t, "suites: [e2e]\n"), "--out", out)
			t.Logf("disk full (%s): exit %d after %s\nstdout:\n%s\nstderr:\n%s", c.name, code, time.Since(t0).Round(time.Second), stdout, stderr)
			if code != 3 {
				t.Errorf("exit %d, want 3", code)
			}
			msg := oneLine(t, stderr)
			if !regexp.MustCompile(`(?i)no space left|disk full`).MatchString(msg) {
				t.Errorf("message does not say the output disk is full: %q", msg)
			}
			if m := labelRE.FindStringSubmatch(stdout + stderr); m != nil {
				assertClean(t, m[1])
			} else {
				t.Errorf("no run label printed")
			}
			// No private key (nor a half-written temp file of one) stays.
			if ks, _ := filepath.Glob(filepath.Join(out, "ssh", "*")); len(ks) > 0 {
				t.Errorf("key material left in the run directory: %v", ks)
			}
			recs, bad, err := journal.Read(out)
			t.Logf("journal kept %d record(s), %d unreadable, err %v", len(recs), bad, err)
			if c.wantRecs && (err != nil || len(recs) == 0) {
				t.Errorf("the journal kept nothing: %v", err)
			}
			if bad > 1 {
				t.Errorf("%d unreadable journal records (at most the torn last one)", bad)
			}
		})
	}
}

// --- libvirtd-disruptive cases -------------------------------------------
//
// These kill or stop the lab's libvirtd: every other test using the lab
// at that moment would see it too. They run only with
// VIRTCERT_E2E_DISRUPTIVE=1, in their own `go test -run TestReliabDisruptive`
// invocation (no other e2e test at the same time), and serially. They
// always leave the lab healthy: SIGCONT and `lab up` in t.Cleanup.

func needDisruptive(t *testing.T) {
	t.Helper()
	need(t)
	if os.Getenv("VIRTCERT_E2E_DISRUPTIVE") != "1" {
		t.Skip("kills/stops the lab's libvirtd: run alone with VIRTCERT_E2E_DISRUPTIVE=1 (make e2e-disruptive)")
	}
}

// SIGSTOP and SIGCONT by their Linux numbers: syscall names them only on
// Unix, and the package must still vet for Windows (where the e2e tests
// skip: there is no lab).
const (
	sigSTOP = syscall.Signal(0x13)
	sigCONT = syscall.Signal(0x12)
)

func signalPid(pid int, sig syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(sig)
}

func labDir() string {
	if d := os.Getenv("VIRTCERT_LAB_DIR"); d != "" {
		return d
	}
	return "/var/tmp/virtcert-lab"
}

func libvirtdPid(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(labDir(), "pids", "libvirtd.pid"))
	if err != nil {
		t.Fatalf("lab libvirtd pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		t.Fatalf("lab libvirtd pid file: %q", b)
	}
	return pid
}

// labUp runs `lab up` (idempotent: restarts a half-up lab; the lab's
// VIRTCERT_LAB_DIR/VIRTCERT_NETNS are inherited) and checks it answers.
func labUp(t *testing.T) {
	t.Helper()
	if o, err := exec.Command(filepath.Join(root, "fixtures", "lab", "lab"), "up").CombinedOutput(); err != nil {
		t.Errorf("lab up: %v\n%s", err, o)
		return
	}
	// Not t.Context(): it is already cancelled when cleanups run.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := 0; i < 30; i++ {
		if _, err := virsh(ctx, "list", "--all"); err == nil {
			return
		}
		time.Sleep(time.Second)
	}
	t.Errorf("the lab does not answer after lab up")
}

func TestReliabDisruptive(t *testing.T) {
	needDisruptive(t)
	t.Run("libvirtd restart", func(t *testing.T) {
		t.Cleanup(func() { labUp(t) })
		t0 := time.Now()
		out := filepath.Join(t.TempDir(), "run")
		plan := matrixPlan(t, []relImage{{"a", ""}, {"b", ""}}, "{provision: 2m, ready: 3m, destroy: 3s, run: 15m}", "suites: [e2e]\n")
		p := start(t, []string{"VIRTCERT_E2E_SLOW=40"}, "run", "--plan", plan, "--out", out)
		waitOut(t, p, ` lab/a  e2e\.slow \.\.\.`, 6*time.Minute)
		pid := libvirtdPid(t)
		if err := signalPid(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill libvirtd %d: %v", pid, err)
		}
		t.Logf("killed libvirtd %d mid-check", pid)
		time.Sleep(3 * time.Second)
		labUp(t)
		code := p.wait(t, 10*time.Minute)
		t.Logf("libvirtd restart: exit %d after %s\nstdout:\n%s\nstderr:\n%s", code, time.Since(t0).Round(time.Second), p.out(), p.errOut())
		label := labelOf(t, p.out())
		run := resultsKept(t, out)
		switch code {
		case 0:
			t.Logf("the run recovered across the restart")
		case 3:
			for _, tg := range run.Targets {
				t.Logf("%s", describe(tg))
			}
			if strings.TrimSpace(p.errOut()) == "" {
				t.Errorf("exit 3 without a message")
			}
		default:
			t.Errorf("exit %d, want 0 (recovered) or 3 (clear ERROR)", code)
		}
		if l := leftovers(t, label); len(l) > 0 {
			t.Errorf("leaked across the libvirtd restart: %v", l)
			virtcert(t, nil, 2*time.Minute, "sweep", "--uri", "lab", "--run", label)
		}
		assertClean(t, label)
	})
	t.Run("host stops answering", func(t *testing.T) {
		t.Cleanup(func() { labUp(t) })
		t0 := time.Now()
		out := filepath.Join(t.TempDir(), "run")
		plan := matrixPlan(t, []relImage{{"tiny", ""}}, "{provision: 30s, ready: 60s, destroy: 3s, run: 4m}", "suites: [e2e]\n")
		pid := libvirtdPid(t)
		p := start(t, nil, "run", "--plan", plan, "--out", out)
		waitOut(t, p, `lab/tiny\s+provisioning`, 2*time.Minute)
		if err := signalPid(pid, sigSTOP); err != nil {
			t.Fatalf("SIGSTOP libvirtd: %v", err)
		}
		t.Cleanup(func() { signalPid(pid, sigCONT) })
		code := p.wait(t, 6*time.Minute)
		signalPid(pid, sigCONT)
		took := time.Since(t0)
		t.Logf("stopped host: exit %d after %s\nstdout:\n%s\nstderr:\n%s", code, took.Round(time.Second), p.out(), p.errOut())
		if code != 3 {
			t.Errorf("exit %d, want 3", code)
		}
		if strings.TrimSpace(p.errOut()) == "" {
			t.Errorf("no message")
		}
		label := labelOf(t, p.out())
		time.Sleep(2 * time.Second)
		// Whatever the stopped host accepted before it froze is swept.
		virtcert(t, nil, 2*time.Minute, "sweep", "--uri", "lab", "--run", label)
		assertClean(t, label)
	})
}
