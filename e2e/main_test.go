// Package e2e runs the real virtcert binary against the lab: a tiny-guest
// certification, bad input, signals, SIGKILL + sweep + report, --resume
// and --keep-on-failure. Gated by VIRTCERT_E2E=1 and meant to run inside
// the lab's network namespace:
//
//	fixtures/lab/lab exec -- env VIRTCERT_E2E=1 go test ./e2e/...
//
// (make e2e). The binary is built once, with -tags vce2e so the catalog
// also holds the small deterministic checks of e2e/e2echecks.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/virtcert/virtcert/internal/labslot"
)

var (
	bin     string // the virtcert binary under test
	root    string // repository root
	skipWhy string // why the suite skips (empty: it runs)
	scratch string // outlives every test; removed after the suite
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	wd, _ := os.Getwd()
	root = filepath.Dir(wd)
	switch {
	case os.Getenv("VIRTCERT_E2E") != "1":
		skipWhy = "end-to-end tests run with VIRTCERT_E2E=1 (make e2e)"
	case os.Getenv("VIRTCERT_LAB_URI") == "":
		skipWhy = "VIRTCERT_LAB_URI is not set: run inside the lab (fixtures/lab/lab exec -- ...)"
	}
	if skipWhy == "" {
		if _, err := os.Stat(tinyDir()); err != nil {
			skipWhy = "tiny guest not built (make tiny): " + err.Error()
		}
	}
	if skipWhy != "" {
		defer removeLazy()
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "virtcert-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	scratch = dir
	bin = filepath.Join(dir, "virtcert")
	build := func(env []string, args ...string) error {
		c := exec.Command("go", args...)
		c.Dir = root
		c.Env = append(os.Environ(), env...)
		out, err := c.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %v\n%s", args, err, out)
		}
		return nil
	}
	if err := build(nil, "build", "-tags", "vce2e", "-o", bin, "./cmd/virtcert"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := build([]string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64"}, "build", "-trimpath", "-o", filepath.Join(dir, "vcprobe"), "./cmd/vcprobe"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	unboundParallel()
	return m.Run()
}

// unboundParallel lets the lab slots (internal/labslot), not go test's
// -parallel (GOMAXPROCS, 2 on the lab), bound the load: every test that boots a guest takes its
// guest slots first. With -parallel 2, a test waiting for a shared run
// (catalogRun) or for guest slots held one of the two places, and the
// Debian catalog (two slots of three, twenty minutes) ran mostly alone.
// An explicit -parallel is kept.
func unboundParallel() {
	labslot.Parallel(32) // more than the slots: tests also wait on shared runs
}

// lazyDirs are directories tests made for binaries they built themselves
// (planBinary), removed after the suite.
var lazyDirs []string

func removeLazy() {
	for _, d := range lazyDirs {
		os.RemoveAll(d)
	}
}

func need(t *testing.T) {
	t.Helper()
	if skipWhy != "" {
		t.Skip(skipWhy)
	}
}

func tinyDir() string {
	c := os.Getenv("VIRTCERT_CACHE")
	if c == "" {
		home, _ := os.UserHomeDir()
		c = filepath.Join(home, ".cache", "virtcert")
	}
	return filepath.Join(c, "guests", "tiny")
}

// tinyImage is the tiny guest's entry under a plan's "images:" (direct
// kernel boot from the fixture cache, 256 MiB).
func tinyImage() string {
	d := tinyDir()
	cmdline, _ := os.ReadFile(filepath.Join(d, "cmdline"))
	return fmt.Sprintf("  tiny:\n    path: %s/disk.qcow2\n    kernel: %s/vmlinuz\n    initrd: %s/initrd.img\n    cmdline: %q\n    memory_mb: 256\n",
		d, d, d, strings.TrimSpace(string(cmdline)))
}

// tinyPlan writes a plan for the tiny guest (checks: the e2e area unless
// suites says otherwise) and returns its path.
func tinyPlan(t *testing.T, extra string) string {
	t.Helper()
	text := fmt.Sprintf(`name: e2e-tiny
hosts:
  lab:
    driver: libvirt
    uri: lab
    options: {network: virtcert, pool: virtcert}
images:
%stimeouts: {provision: 2m, ready: 4m, destroy: 3s, run: 20m}
%s`, tinyImage(), extra)
	p := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// proc is a running virtcert.
type proc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	lines  chan string
	done   chan struct{}
	code   int
}

func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), lines: make(chan string, 1000), done: make(chan struct{})}
	p.cmd.Dir = t.TempDir()
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	pr, pw := io.Pipe()
	p.cmd.Stdout = pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.stdout.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		io.Copy(io.Discard, pr) // a line too long ends Scan: never block the child
	}()
	go func() {
		err := p.cmd.Wait()
		pw.Close()
		// Wait hands the last bytes to the pipe, not to p.stdout: done
		// must wait for the scanner too, or a reader of p.out() right
		// after exit can miss the output's tail (seen: a truncated
		// `checks --json`).
		<-scanned
		p.code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.code = 128 + int(ws.Signal())
			}
		}
		close(p.done)
	}()
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// wait waits for the process to end within d.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(d):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("virtcert did not exit within %s\nstdout:\n%s\nstderr:\n%s", d, p.out(), p.errOut())
		return -1
	}
}

// waitLine waits for a stdout line matching re.
func (p *proc) waitLine(t *testing.T, re string, d time.Duration) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(d)
	for {
		select {
		case l := <-p.lines:
			if rx.MatchString(l) {
				return l
			}
		case <-p.done:
			t.Fatalf("virtcert exited (%d) before printing %q\nstdout:\n%s\nstderr:\n%s", p.code, re, p.out(), p.errOut())
		case <-deadline:
			t.Fatalf("no line %q within %s\nstdout:\n%s", re, d, p.out())
		}
	}
}

func (p *proc) out() string    { p.mu.Lock(); defer p.mu.Unlock(); return p.stdout.String() }
func (p *proc) errOut() string { p.mu.Lock(); defer p.mu.Unlock(); return p.stderr.String() }

// virtcert runs the binary to its end.
func virtcert(t *testing.T, env []string, d time.Duration, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := start(t, env, args...)
	code = p.wait(t, d)
	return code, p.out(), p.errOut()
}

var labelRE = regexp.MustCompile(`run (vc-\d{8}-\d{6}-[0-9a-f]{6})`)

func labelOf(t *testing.T, stdout string) string {
	t.Helper()
	m := labelRE.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no run label in output:\n%s", stdout)
	}
	return m[1]
}

// guestSlot bounds how many guests the tests run at once (2 cores, TCG).
func guestSlot(t *testing.T) { guestSlots(t, 1) }

// guestSlots takes n guest slots at once, released when the test ends.
// The lab's slots (internal/labslot) grant a request all-or-nothing, one
// request at a time, so tests needing several guests neither deadlock on
// partial holdings nor starve behind a stream of one-guest tests; they
// bound the guests of this package and of the lab packages run beside it
// (make e2e) together.
func guestSlots(t *testing.T, n int) {
	labslot.Acquire(t, n)
}

// leftovers lists, independently of virtcert, libvirt domains and volumes
// whose name carries label.
func leftovers(t *testing.T, label string) []string {
	t.Helper()
	return leftoversAt(t, os.Getenv("VIRTCERT_LAB_URI"), "virtcert", label)
}

// leftoversAt is leftovers on the libvirtd at uri, with storage pool pool.
func leftoversAt(t *testing.T, uri, pool, label string) []string {
	t.Helper()
	var found []string
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, args := range [][]string{
		{"-c", uri, "list", "--all", "--name"},
		{"-c", uri, "vol-list", pool},
	} {
		out, err := exec.CommandContext(ctx, "virsh", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("virsh %v: %v\n%s", args, err, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, label) {
				found = append(found, strings.TrimSpace(l))
			}
		}
	}
	return found
}

// assertClean checks that nothing of the run is left: neither virsh nor
// `virtcert sweep --dry-run` finds anything with its label.
func assertClean(t *testing.T, label string) {
	t.Helper()
	if l := leftovers(t, label); len(l) > 0 {
		t.Errorf("libvirt still holds resources of %s: %v", label, l)
	}
	code, out, errOut := virtcert(t, nil, 2*time.Minute, "sweep", "--uri", "lab", "--run", label, "--dry-run")
	if code != 0 || !strings.Contains(out, "nothing to sweep") {
		t.Errorf("sweep --dry-run after the run: exit %d\n%s%s", code, out, errOut)
	}
}

func oneLine(t *testing.T, stderr string) string {
	t.Helper()
	s := strings.TrimRight(stderr, "\n")
	if s == "" || strings.Contains(s, "\n") {
		t.Errorf("want exactly one message line on stderr, got:\n%s", stderr)
	}
	if strings.Contains(s, "goroutine ") || strings.Contains(s, "panic") {
		t.Errorf("stack trace on stderr: %s", s)
	}
	return s
}
