// Command vcbench runs the side-by-side benchmarks of `make bench` on the
// lab: each benchmark times the harness (the real bin/virtcert, or its SSH
// transport) and what a user would use instead, in one run, and prints a
// table with the ratios. BENCHMARKS.md keeps the figures measured here.
//
//	a  per-command cost: the SSH transport vs ssh per command, ControlMaster, Ansible raw
//	b  read-only checks through the harness vs a bash+ssh replay of their commands
//	c  time to first verdict vs a raw virsh create + wait for SSH
//	d  1, 2 and 4 tiny guests in parallel vs one after another
//	e  harness max RSS with 16 existing-driver targets
//	f  a finished full-catalog run (make certify) against boot + live checks;
//	   alone (-only f), reading -catalog-run, no lab needed
//
// It runs inside the lab's network namespace (fixtures/lab/lab exec --)
// and boots its own tiny guest, destroyed at exit. Exit 3: the lab is not
// there; 2: bad flags or a missing tool; 1: a benchmark failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

var workDir string

func tempDir(name string) (string, error) { return os.MkdirTemp(workDir, name+"-") }

type options struct {
	bin, tiny, only string
	catalogRun      string
	n, rounds       int
	timeout         time.Duration
	keep            bool
}

func main() {
	var o options
	home, _ := os.UserHomeDir()
	flag.StringVar(&o.bin, "bin", "bin/virtcert", "the virtcert binary (bin/vcprobe beside it)")
	flag.StringVar(&o.tiny, "tiny", filepath.Join(home, ".cache/virtcert/guests/tiny"), "the tiny fixture guest's directory (make tiny)")
	flag.StringVar(&o.only, "only", "a,b,e,c,d", "benchmarks to run, in this order (a,b,c,d,e)")
	flag.IntVar(&o.n, "n", 50, "a: commands per way and round")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of a and b (c: 2)")
	flag.DurationVar(&o.timeout, "timeout", 9*time.Minute, "the whole run (the lab lock is held at most 10 minutes)")
	flag.StringVar(&o.catalogRun, "catalog-run", "out/latest", "f: the run directory of a full-catalog run (make certify)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work files (plans, run directories, scripts) and say where")
	flag.Parse()
	os.Exit(run(o))
}

func run(o options) int {
	if o.only == "f" {
		t, err := benchCatalog(o.catalogRun)
		if err != nil {
			fmt.Fprintf(os.Stderr, "vcbench: f: %v\n", err)
			return 1
		}
		t.print(os.Stdout)
		return 0
	}
	uri, code, err := preflight(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "vcbench: %v\n", err)
		return code
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx, cancel2 := context.WithTimeout(ctx, o.timeout)
	defer cancel2()
	if workDir, err = os.MkdirTemp("", "vcbench-"); err != nil {
		fmt.Fprintf(os.Stderr, "vcbench: %v\n", err)
		return 1
	}
	if o.keep {
		fmt.Printf("keeping %s\n", workDir)
	} else {
		defer os.RemoveAll(workDir)
	}
	fmt.Printf("vcbench: %s, lab %s, tiny guest %s\n", time.Now().UTC().Format(time.RFC3339), uri, o.tiny)
	g, err := bootTiny(ctx, uri, o.tiny, workDir)
	if g != nil {
		defer g.destroy()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "vcbench: booting the tiny guest: %v\n", err)
		return 1
	}
	fmt.Printf("tiny guest %s at %s: SSH answered %s after the overlay was made\n", g.name, g.addr, ms(g.toSSH))
	failed := 0
	for _, b := range strings.Split(o.only, ",") {
		t, err := one(ctx, o, uri, g, strings.TrimSpace(b))
		if err != nil {
			fmt.Fprintf(os.Stderr, "vcbench: %s: %v\n", b, err)
			failed++
			if ctx.Err() != nil {
				break
			}
			continue
		}
		t.print(os.Stdout)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

func one(ctx context.Context, o options, uri string, g *guest, b string) (*table, error) {
	switch b {
	case "a":
		return benchPerCommand(ctx, g, o.n, o.rounds)
	case "b":
		return benchReadOnly(ctx, o.bin, g, o.rounds)
	case "c":
		return benchFirstVerdict(ctx, o.bin, uri, o.tiny, g.toSSH, 2)
	case "d":
		return benchParallel(ctx, o.bin, o.tiny, []int{1, 2, 4})
	case "e":
		return benchMemory(ctx, o.bin, g, 16)
	case "f":
		return nil, errors.New("f reads a finished run and runs alone: -only f")
	}
	return nil, fmt.Errorf("unknown benchmark %q (a, b, c, d, e; f alone)", b)
}

// preflight fails fast, with the reason, when the lab or a tool is missing.
func preflight(o options) (string, int, error) {
	for _, f := range []string{o.bin, filepath.Join(filepath.Dir(o.bin), "vcprobe")} {
		if _, err := os.Stat(f); err != nil {
			return "", 2, fmt.Errorf("%s missing: make build", f)
		}
	}
	for _, f := range []string{"vmlinuz", "initrd.img", "disk.qcow2"} {
		if _, err := os.Stat(filepath.Join(o.tiny, f)); err != nil {
			return "", 2, fmt.Errorf("tiny guest incomplete (%v): make tiny", err)
		}
	}
	for _, tool := range []string{"virsh", "qemu-img", "ssh", "bash", "ansible-playbook"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", 2, fmt.Errorf("%s not installed: fixtures/deps.sh bench", tool)
		}
	}
	if _, err := net.InterfaceByName("vcbr0"); err != nil {
		return "", 3, errors.New("not inside the lab's network namespace (no vcbr0): run `fixtures/lab/lab exec -- bin/vcbench` or `make bench`; is the lab up? (make lab-up)")
	}
	uri := os.Getenv("VIRTCERT_LAB_URI")
	if uri == "" {
		return "", 3, errors.New("VIRTCERT_LAB_URI is not set: run through `fixtures/lab/lab exec --`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "virsh", "-c", uri, "version").CombinedOutput(); err != nil {
		return "", 3, fmt.Errorf("the lab's libvirtd does not answer at %s within 15 s: %v: %s", uri, err, strings.TrimSpace(string(out)))
	}
	return uri, 0, nil
}
