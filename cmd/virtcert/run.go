package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/progress"
	"github.com/virtcert/virtcert/reports/rundir"
	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/runner"
)

type runFlags struct {
	plan, out, resume, signKey, waivers string
	one                                 plan.Flags
	checks, exclude                     []string
	parallel                            int
	keep, verbose                       bool
}

func newRun() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run (--plan FILE | --uri URI --image PATH | --resume DIR)",
		Short: "Run a certification",
		Long: `Run a certification from a plan file, or a one-off run from flags.
Exit codes: 0 certified, 1 a check failed, 2 bad usage/plan/input or a
security error, 3 harness or host failure, 130/143 interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return doRun(cmd.Context(), cmd, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.plan, "plan", "", "plan file (YAML)")
	fl.StringVar(&f.one.Driver, "driver", "libvirt", "driver for a one-off run (libvirt, existing, hyperv)")
	fl.StringVar(&f.one.URI, "uri", "", "host URI for a one-off run (\"lab\" = the local lab)")
	fl.StringVar(&f.one.Image, "image", "", "guest image path for a one-off run")
	fl.StringVar(&f.one.Kernel, "kernel", "", "kernel for direct kernel boot (one-off run)")
	fl.StringVar(&f.one.Initrd, "initrd", "", "initrd for direct kernel boot (one-off run)")
	fl.StringVar(&f.one.Cmdline, "cmdline", "", "kernel command line (one-off run)")
	fl.StringVar(&f.one.User, "user", "", "login user (default root)")
	fl.StringVar(&f.one.Format, "format", "", "image format (default from the file extension, else qcow2)")
	fl.StringVar(&f.one.OS, "os", "", "guest OS family: linux or windows (default linux)")
	fl.IntVar(&f.one.MemoryMB, "memory", 0, "guest memory in MiB (default 1024)")
	fl.IntVar(&f.one.CPUs, "cpus", 0, "guest vCPUs (default 1)")
	fl.StringVar(&f.out, "out", "", "run directory (default out/<run-label>, with out/latest pointing at it)")
	fl.IntVar(&f.parallel, "parallel", 0, "guests at once (overrides the plan)")
	fl.StringSliceVar(&f.checks, "checks", nil, "only these checks or areas (comma list)")
	fl.StringSliceVar(&f.exclude, "exclude", nil, "leave out these checks or areas (comma list)")
	fl.StringVar(&f.resume, "resume", "", "finish the interrupted run in DIR (its plan and journal)")
	fl.BoolVar(&f.keep, "keep-on-failure", false, "keep the guests of failed targets running and print how to reach them")
	fl.StringVar(&f.signKey, "sign-key", "", "sign the result bundle with this ed25519 private key file")
	fl.StringVar(&f.waivers, "waivers", "", "waiver file (overrides the plan's)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "debug logs on stderr")
	return c
}

func doRun(ctx context.Context, cmd *cobra.Command, f runFlags) error {
	nothingToClean.Store(true)
	defer nothingToClean.Store(false)
	stdout := cmd.OutOrStdout()
	oneOff := f.one.URI != "" || f.one.Image != ""
	modes := 0
	for _, b := range []bool{f.plan != "", oneOff, f.resume != ""} {
		if b {
			modes++
		}
	}
	if modes != 1 {
		return exitf(ExitInput, "give exactly one of --plan FILE, --uri URI --image PATH, or --resume DIR")
	}
	if f.parallel < 0 {
		return exitf(ExitInput, "--parallel: must be > 0")
	}
	if err := checkSelection("--checks", f.checks); err != nil {
		return err
	}
	if err := checkSelection("--exclude", f.exclude); err != nil {
		return err
	}
	var (
		p   *plan.Plan
		res *rundir.Resumed
		err error
		out = f.out
	)
	switch {
	case f.plan != "":
		p, err = plan.Load(f.plan)
	case oneOff:
		if f.one.URI == "" || (f.one.Image == "" && f.one.Driver != "existing") {
			return exitf(ExitInput, "a one-off run needs --uri and --image")
		}
		p, err = plan.FromFlags(f.one)
	default:
		if out != "" && out != f.resume {
			return exitf(ExitInput, "--resume writes into its own directory; leave out --out")
		}
		out = f.resume
		if res, err = rundir.Resume(out); err != nil {
			return exitf(ExitInput, "--resume: %v", unwrap(err))
		}
		defer res.Dir.Close()
		p, err = resumePlan(res.Dir)
	}
	if err != nil {
		return err
	}
	if f.parallel > 0 {
		p.Parallel = f.parallel
	}
	if f.waivers != "" {
		p.Waivers = f.waivers
	}
	ws, err := loadWaivers(p.Waivers)
	if err != nil {
		return exitf(ExitInput, "waivers: %v", err)
	}
	if f.signKey != "" {
		if err := checkSignKey(f.signKey); err != nil {
			return err
		}
	}

	sel := runner.Select(suites.All(), p.Suites, p.Exclude)
	if len(f.checks) > 0 || len(f.exclude) > 0 {
		sel = runner.Select(sel, f.checks, f.exclude)
	}
	if len(sel) == 0 {
		return exitf(ExitInput, "no checks selected (the catalog has %d; see `virtcert checks`)", len(suites.All()))
	}

	if ctx.Err() != nil {
		code := int(sig.Load())
		if code == 0 {
			code = ExitSIGINT
		}
		return exitf(code, "interrupted before the run started")
	}
	nothingToClean.Store(false)
	label := ""
	if f.resume == "" {
		label = runner.NewLabel(time.Now())
		if out == "" {
			out = filepath.Join("out", label)
		}
		d, err := rundir.Create(out)
		if errors.Is(err, rundir.ErrNotEmpty) {
			return exitf(ExitInput, "--out %s: %v", out, unwrap(err))
		}
		if err != nil {
			return exitf(ExitHarness, "%v", err)
		}
		defer d.Close()
		res = &rundir.Resumed{Dir: d}
		if f.out == "" {
			latest := filepath.Join("out", "latest")
			os.Remove(latest)
			_ = os.Symlink(label, latest)
		}
	} else {
		label = res.Label
	}
	currentLabel.Store(label)

	logger := slog.New(slog.DiscardHandler)
	if f.verbose {
		logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	warnInsecure(cmd.ErrOrStderr(), p)
	fmt.Fprintf(stdout, "virtcert %s: run %s, plan %s (sha256 %s), output %s\n", getVersion(), label, p.Name, short(p.SHA256), out)
	opt := runner.Options{
		Out: out, Dir: res.Dir, Journal: res.Records, RunLabel: label, Version: getVersion(), Openers: openers,
		Only: f.checks, Exclude: f.exclude, ProbePath: probePath(),
		KeepOnFailure: f.keep, Resume: f.resume != "", Log: logger,
	}
	// On a terminal: one live line per guest; otherwise (CI, files)
	// timestamped lines, with the runner's detail messages too.
	tty := false
	if fo, ok := stdout.(*os.File); ok {
		tty = progress.IsTerminal(fo)
	}
	sink := progress.New(stdout, tty)
	opt.Sink = sink
	if !tty {
		opt.Progress = &printer{w: stdout, start: time.Now()}
	}
	run, outcome, runErr := runner.Run(ctx, p, opt)
	sink.Close()
	if run == nil {
		return exitf(ExitHarness, "%v", runErr)
	}
	if len(ws) > 0 {
		applyWaivers(run, ws)
	}
	paths, werr := writeReports(res.Dir, run, f.signKey)
	printSummary(stdout, run, paths, outcome)
	if sig.Load() != 0 {
		return exitf(int(sig.Load()), "interrupted: run %s is INCOMPLETE; finish it with `virtcert run --resume %s`", label, out)
	}
	if runErr != nil {
		return exitf(ExitHarness, "%v", runErr)
	}
	if werr != nil {
		return exitf(ExitHarness, "writing reports: %v", werr)
	}
	return verdictError(run, outcome)
}

// verdictError decides the exit code: bad input or a security error first
// (the user must act), then a failed check, then harness errors.
func verdictError(run *reports.Run, o *runner.Outcome) error {
	if o != nil && o.Setup != nil {
		for _, e := range o.Setup.Errs {
			switch drivers.ClassOf(e) {
			case drivers.ClassSecurity:
				return exitf(ExitInput, "SECURITY: %v", e)
			case drivers.ClassInput:
				return exitf(ExitInput, "%v", e)
			}
		}
	}
	fail, errs := 0, 0
	for _, t := range run.Targets {
		c := t.Count()
		fail += c[reports.Fail]
		errs += c[reports.Error]
	}
	switch {
	case fail > 0:
		return exitf(ExitFailed, "NOT CERTIFIED: %d check(s) failed", fail)
	case o != nil && o.Setup != nil:
		return exitf(ExitHarness, "%v", o.Setup)
	case errs > 0:
		return exitf(ExitHarness, "NOT CERTIFIED: %d check(s) could not be run (ERROR: harness or host failure)", errs)
	case run.Verdict() == reports.Incomplete:
		return exitf(ExitHarness, "INCOMPLETE: not every target finished")
	}
	for _, t := range run.Targets {
		if t.NothingTested(run.Complete) {
			return exitf(ExitHarness, "NOT CERTIFIED: %s: %s", t.ID, t.Why(run.Complete))
		}
	}
	return nil
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// resumePlan reads the resolved plan a run saved in its directory (a
// regular file: a symlink there is refused).
func resumePlan(d *rundir.Dir) (*plan.Plan, error) {
	if !d.Exists(rundir.PlanFile) {
		return nil, exitf(ExitInput, "--resume %s: not a run directory (no plan.yaml)", d.Path())
	}
	return plan.Load(filepath.Join(d.Path(), rundir.PlanFile))
}

// probePath finds vcprobe: $VIRTCERT_PROBE, else beside the binary.
func probePath() string {
	if p := os.Getenv("VIRTCERT_PROBE"); p != "" {
		return p
	}
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	return filepath.Join(filepath.Dir(exe), "vcprobe")
}

func checkSelection(flag string, sel []string) error {
	if len(sel) == 0 {
		return nil
	}
	if _, err := plan.FromFlags(plan.Flags{Driver: "existing", URI: "localhost", Suites: sel}); err != nil {
		var pe plan.Errors
		if errors.As(err, &pe) {
			return exitf(ExitInput, "%s: %s", flag, strings.TrimPrefix(pe[0].Message, ""))
		}
		return err
	}
	return nil
}

// printer writes user-facing progress lines (debug logs go to slog).
type printer struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (p *printer) Event(target, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%7.1fs [%s] %s\n", time.Since(p.start).Seconds(), target, reports.Clean(fmt.Sprintf(format, args...)))
}

func printSummary(w io.Writer, run *reports.Run, paths reportPaths, o *runner.Outcome) {
	warned := map[string]bool{}
	for _, t := range run.Targets {
		if t.HostInfo.TLSUnverified && !warned[t.Host] {
			warned[t.Host] = true
			fmt.Fprintf(w, "WARNING: %s\n", reports.Line(drivers.TLSBanner(t.Host)))
		}
	}
	l := reports.Line // IDs and names may come from a hostile results.json
	for _, t := range run.Targets {
		c := t.Count()
		fmt.Fprintf(w, "%-28s %-14s pass %d  fail %d  error %d  skip %d  waived %d\n", l(t.ID), l(string(t.Verdict(run.Complete))),
			c[reports.Pass], c[reports.Fail], c[reports.Error], c[reports.Skip], c[reports.Waived])
		if t.NothingTested(run.Complete) {
			fmt.Fprintf(w, "%-28s %s\n", "", t.Why(run.Complete))
		}
	}
	if o != nil {
		for _, k := range o.Kept {
			fmt.Fprintf(w, "kept %s (%s): %s\n", l(k.Guest), l(k.Target), l(k.Command))
		}
		if len(o.Kept) > 0 {
			fmt.Fprintf(w, "remove kept guests with: virtcert sweep --run %s --plan %s\n", l(run.ID), l(filepath.Join(paths.dir, "plan.yaml")))
		}
		for _, lo := range o.Leftovers {
			fmt.Fprintf(w, "could not destroy %s: remove it with virtcert sweep --run %s\n", l(lo), l(run.ID))
		}
	}
	fmt.Fprintf(w, "VERDICT: %s (run %s)\n", run.Verdict(), l(run.ID))
	if paths.html != "" {
		fmt.Fprintf(w, "report:  %s\n", l(paths.html))
	}
	if paths.junit != "" {
		fmt.Fprintf(w, "junit:   %s\n", l(paths.junit))
	}
	fmt.Fprintf(w, "bundle:  %s\n", l(paths.dir))
}

// warnInsecure says loudly, before anything connects, which hosts the plan
// reaches without verifying TLS (insecure: true).
func warnInsecure(w io.Writer, p *plan.Plan) {
	for _, name := range p.HostNames() {
		if p.Hosts[name].Insecure {
			fmt.Fprintf(w, "virtcert: WARNING: %s; every report will say so\n", drivers.TLSBanner(name))
		}
	}
}
