package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/virtcert/virtcert/reports"
)

// harnessRun is one run of the real virtcert binary and what it cost.
type harnessRun struct {
	wall         time.Duration // exec to exit
	firstVerdict time.Duration // exec to the first "check 1/N" progress line
	maxRSS       int64         // bytes, from the kernel's rusage of the process
	run          *reports.Run
}

// runHarness runs `virtcert run --plan plan --out DIR` and reads its
// results.json. Exit 0 and 1 are verdicts; anything else is an error.
func runHarness(ctx context.Context, bin, plan, out string) (*harnessRun, error) {
	cmd := exec.CommandContext(ctx, bin, "run", "--plan", plan, "--out", out)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	h := &harnessRun{}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	log := watchProgress(stdout, t0, &h.firstVerdict)
	err = cmd.Wait()
	h.wall = time.Since(t0)
	h.maxRSS = maxRSS(cmd.ProcessState)
	if code := cmd.ProcessState.ExitCode(); err != nil && code != 1 {
		return nil, fmt.Errorf("virtcert run exited %d: %v\n%s%s", code, err, tail(<-log, 1500), tail(stderr.String(), 1500))
	}
	<-log
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		return nil, err
	}
	h.run = &reports.Run{}
	return h, json.Unmarshal(b, h.run)
}

// watchProgress reads the progress lines, notes when the first verdict
// was printed, and hands back the whole text when the stream ends.
func watchProgress(r io.Reader, t0 time.Time, first *time.Duration) <-chan string {
	done := make(chan string, 1)
	go func() {
		var all strings.Builder
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if *first == 0 && strings.Contains(sc.Text(), "  check 1/") {
				*first = time.Since(t0)
			}
			all.WriteString(sc.Text() + "\n")
		}
		done <- all.String()
	}()
	return done
}

// checksSpan is the time from the first check's start to the last one's end.
func checksSpan(t *reports.Target) time.Duration {
	var first, last time.Time
	for _, r := range t.Results {
		if r.Started.IsZero() {
			continue
		}
		if first.IsZero() || r.Started.Before(first) {
			first = r.Started
		}
		if end := r.Started.Add(r.Duration); end.After(last) {
			last = end
		}
	}
	return last.Sub(first)
}

// existingPlan is a plan of n existing-driver targets, all the benchmark
// guest, each running checks, n at a time. The profile is kvm-tcg, what
// the lab runs (without one the existing driver's targets get the generic
// profile, under which most checks SKIP).
func existingPlan(g *guest, n int, checks []string) string {
	var b strings.Builder
	b.WriteString("name: bench-existing\nhosts:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  vm%02d: {driver: existing, uri: 'ssh://root@%s', profile: kvm-tcg}\n", i, g.addr)
	}
	fmt.Fprintf(&b, "images:\n  tiny: {key_file: '%s', host_key: '%s'}\n", g.keyFile, strings.TrimSpace(g.host.AuthorizedKey()))
	fmt.Fprintf(&b, "parallel: %d\npeer: none\ntimeouts: {ready: 90s, run: 10m}\nsuites: [%s]\n", n, strings.Join(checks, ", "))
	return b.String()
}

// labPlan is a plan of n tiny guests on the lab (the libvirt driver),
// parallel at a time, running checks.
func labPlan(tiny string, n, parallel int, checks []string) string {
	return labPlanTyped(tiny, n, parallel, checks, "")
}

// labPlanTyped is labPlan with the hosts' domain_type option set to typ
// ("qemu": TCG, as the raw script's domain XML says; no KVM probe), or
// left to the driver's probe when typ is "".
func labPlanTyped(tiny string, n, parallel int, checks []string, typ string) string {
	var b strings.Builder
	b.WriteString("name: bench-lab\nhosts:\n")
	extra := ""
	if typ != "" {
		extra = ", domain_type: " + typ
	}
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  lab%d: {driver: libvirt, uri: lab, options: {network: virtcert, pool: virtcert%s}}\n", i, extra)
	}
	fmt.Fprintf(&b, "images:\n  tiny:\n    path: %s/disk.qcow2\n    kernel: %s/vmlinuz\n    initrd: %s/initrd.img\n", tiny, tiny, tiny)
	b.WriteString("    cmdline: console=ttyS0 loglevel=5\n    user: root\n    memory_mb: 256\n    cpus: 1\n")
	fmt.Fprintf(&b, "parallel: %d\npeer: none\ntimeouts: {provision: 2m, ready: 3m, destroy: 3s, run: 10m}\nsuites: [%s]\n", parallel, strings.Join(checks, ", "))
	return b.String()
}

// writePlan writes text to dir/name and returns the path.
func writePlan(dir, name, text string) (string, error) {
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, []byte(text), 0o600)
}
