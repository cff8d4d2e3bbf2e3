package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/internal/buildinfo"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/progress"
	"github.com/virtcert/virtcert/reports/rundir"
	"github.com/virtcert/virtcert/resolve"
	"github.com/virtcert/virtcert/suites/runner"
)

type runFlags struct {
	plan, out, resume, signKey, waivers string
	shard                               string
	one                                 plan.Flags
	checks, exclude                     []string
	parallel, priority                  int
	keep, verbose, dry, json            bool
	agreement, collect                  bool
	// checksSet, excludeSet: the flag was given (an empty --checks ''
	// is an error, not "everything").
	checksSet, excludeSet bool
}

func newRun() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run (--plan FILE | --uri URI --image PATH | --resume DIR)",
		Short: "Run a certification",
		Long: `Run a certification from a plan file, or a one-off run from flags.
Exit codes: 0 certified, 1 a check failed, 2 bad usage/plan/input or a
security error, 3 harness or host failure, 130/143 interrupted.

The guest helper vcprobe is taken from $VIRTCERT_PROBE, else from beside
this binary (bin/vcprobe; make build builds both). It is never built on
the fly. Without it the run says so in its first lines and lists the
selected checks that will SKIP (` + "`virtcert checks`" + ` shows them with the
need "vcprobe").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f.checksSet, f.excludeSet = cmd.Flags().Changed("checks"), cmd.Flags().Changed("exclude")
			return doRun(cmd.Context(), cmd, f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.plan, "plan", "", "plan file (YAML)")
	fl.StringVar(&f.one.Driver, "driver", plan.DefaultDriver, "driver for a one-off run ("+strings.Join(drivers.Names(), ", ")+")")
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
	fl.StringSliceVar(&f.checks, "checks", nil, "only these checks, areas or globs over check IDs (comma list: clock,disk.*,*.offset)")
	fl.IntVar(&f.priority, "priority", 0, "only checks of this priority or a more urgent one (1 = must pass ... 3 = informational)")
	fl.StringSliceVar(&f.exclude, "exclude", nil, "leave out these checks, areas or globs (comma list)")
	fl.StringVar(&f.resume, "resume", "", "finish the interrupted run in DIR (its plan and journal)")
	fl.BoolVar(&f.keep, "keep-on-failure", false, "keep the guests of failed targets running and print how to reach them")
	fl.BoolVar(&f.collect, "collect", false, "save every guest's diagnostics (dmesg, journal, cloud-init logs, addresses, routes, modules, block devices) in artifacts/<target>/, not only on FAIL or ERROR (plan: collect: always|on-failure|never)")
	fl.StringVar(&f.signKey, "sign-key", "", "sign the result bundle with this ed25519 private key file")
	fl.StringVar(&f.waivers, "waivers", "", "waiver file (overrides the plan's)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "debug logs on stderr")
	fl.BoolVar(&f.dry, "dry-run", false, "print the resolved run (targets, drivers, profiles, checks) and exit: 0, or 2 for a bad plan")
	fl.BoolVar(&f.json, "json", false, "print the final summary as JSON on stdout ("+SummarySchema+"; progress goes to stderr); with --dry-run, the resolved run")
	fl.StringVar(&f.shard, "shard", "", "run shard `i/n` of the plan's targets, for CI runners (1/3, 2/3, 3/3; join them with virtcert report merge)")
	fl.BoolVar(&f.agreement, "agreement", false, "measurement mode: run fio and iperf3 beside vcprobe and report the gap (the plan's agreement: true)")
	return c
}

func doRun(ctx context.Context, cmd *cobra.Command, f runFlags) error {
	nothingToClean.Store(true)
	defer nothingToClean.Store(false)
	rr, res, err := resolveRun(f)
	if pe, ok := errors.AsType[plan.Errors](err); ok && f.dry && f.json {
		printProblems(cmd.OutOrStdout(), pe)
	}
	if err != nil || f.dry {
		if res != nil {
			res.Dir.Close()
		}
		if err != nil {
			return err
		}
		return printRun(cmd.OutOrStdout(), rr, f.json)
	}
	ws, err := loadWaivers(rr.Waivers)
	if err == nil && f.signKey != "" {
		err = checkSignKey(f.signKey)
	} else if err != nil {
		err = exitf(ExitInput, "waivers: %v", err)
	}
	if err == nil && ctx.Err() != nil {
		code := int(sig.Load())
		if code == 0 {
			code = ExitSIGINT
		}
		err = exitf(code, "interrupted before the run started")
	}
	if err != nil {
		if res != nil {
			res.Dir.Close()
		}
		return err
	}
	nothingToClean.Store(false)
	out, label, res, err := runDir(f, res)
	if err != nil {
		return err
	}
	defer res.Dir.Close()
	currentLabel.Store(label)
	stdout := progressOut(cmd, f.json) // with --json, stdout has the summary document alone
	warnInsecure(cmd.ErrOrStderr(), rr.Hosts)
	build := buildinfo.Get()
	fmt.Fprintf(stdout, "virtcert %s: run %s, plan %s (sha256 %s), output %s\n", build.String(), label, rr.Name, short(rr.PlanSHA256), out)
	probe := findProbe(stdout, rr)
	opt, sink := runOptions(cmd, f, out, label)
	opt.ProbePath = probe
	opt.Dir, opt.Journal = res.Dir, res.Records
	run, outcome, runErr := runner.Run(ctx, rr, opt)
	sink.Close()
	if run == nil {
		return exitf(ExitHarness, "%v", runErr)
	}
	run.Build = &build
	if len(ws) > 0 {
		applyWaivers(run, ws)
	}
	paths, werr := writeReports(res.Dir, run, nil, f.signKey)
	if f.json {
		err := runExit(run, outcome, runErr, werr, label, out)
		return printSummaryJSON(cmd.OutOrStdout(), run, paths, outcome, err)
	}
	printSummary(stdout, run, paths, outcome)
	return runExit(run, outcome, runErr, werr, label, out)
}

// runExit is the run's exit: interrupted, harness error, reports not
// written, else the verdict's.
func runExit(run *reports.Run, outcome *runner.Outcome, runErr, werr error, label, out string) error {
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

// resolveRun checks the flags, loads the plan (a file, the one-off flags
// or a run directory's copy) and resolves it.
func resolveRun(f runFlags) (*resolve.Run, *rundir.Resumed, error) {
	oneOff := f.one.URI != "" || f.one.Image != ""
	modes := 0
	for _, b := range []bool{f.plan != "", oneOff, f.resume != ""} {
		if b {
			modes++
		}
	}
	switch {
	case modes != 1:
		return nil, nil, exitf(ExitInput, "give exactly one of --plan FILE, --uri URI --image PATH, or --resume DIR")
	case f.parallel < 0:
		return nil, nil, exitf(ExitInput, "--parallel: must be > 0")
	case f.resume != "" && f.shard != "":
		return nil, nil, exitf(ExitInput, "--resume runs the shard it started with; leave out --shard")
	case f.resume != "" && f.agreement:
		return nil, nil, exitf(ExitInput, "--resume runs with its plan's settings; leave out --agreement")
	case f.resume != "" && f.out != "" && f.out != f.resume:
		return nil, nil, exitf(ExitInput, "--resume writes into its own directory; leave out --out")
	case oneOff && (f.one.URI == "" || (f.one.Image == "" && !attaches(f.one.Driver))):
		return nil, nil, exitf(ExitInput, "a one-off run needs --uri and --image")
	}
	// The flags' problems and the plan's, all at once.
	flagErrs := checkSelectionFlags(f)
	p, res, err := loadPlan(f, oneOff)
	if pe, ok := errors.AsType[plan.Errors](err); ok || (err == nil && flagErrs != nil) {
		return nil, res, append(flagErrs, pe...)
	}
	if err != nil {
		return nil, res, err
	}
	if f.parallel > 0 {
		p.Parallel = f.parallel
	}
	if f.waivers != "" {
		p.Waivers = f.waivers
	}
	if f.agreement {
		p.Agreement = true
	}
	rr, err := resolve.Resolve(p, resolve.Options{Only: f.checks, Exclude: f.exclude, Priority: f.priority})
	if err == nil {
		err = applyShard(rr, f.shard, res)
	}
	if err != nil {
		return nil, res, resolveProblem(err)
	}
	return rr, res, nil
}

// checkSelectionFlags validates --checks, --exclude and --priority, every
// problem at once (nil: none).
func checkSelectionFlags(f runFlags) plan.Errors {
	var errs plan.Errors
	for _, s := range []struct {
		flag string
		set  bool
		sel  []string
	}{{"--checks", f.checksSet, f.checks}, {"--exclude", f.excludeSet, f.exclude}} {
		if s.set && len(s.sel) == 0 {
			errs = append(errs, &plan.Error{Field: s.flag, Message: "empty: name checks, areas or globs (leave the flag out for the whole catalog)"})
		}
		if err := resolve.CheckSelection(s.flag, s.sel); err != nil {
			errs = append(errs, err.(plan.Errors)...)
		}
	}
	if f.priority < 0 || f.priority > plan.MaxPriority {
		errs = append(errs, &plan.Error{Field: "--priority", Message: fmt.Sprintf("want 1 to %d, got %d", plan.MaxPriority, f.priority)})
	}
	return errs
}

func loadPlan(f runFlags, oneOff bool) (*plan.Plan, *rundir.Resumed, error) {
	switch {
	case f.plan != "":
		p, err := resolve.Load(f.plan)
		return p, nil, err
	case oneOff:
		p, err := resolve.FromFlags(f.one)
		return p, nil, err
	}
	res, err := rundir.Resume(f.resume)
	if err != nil {
		return nil, nil, exitf(ExitInput, "--resume: %v", unwrap(err))
	}
	p, err := resumePlan(res.Dir)
	return p, res, err
}

// runDir opens the run directory through the one run-directory writer
// (reports/rundir): a new one (absent or empty), or the resumed run's.
func runDir(f runFlags, resumed *rundir.Resumed) (out, label string, res *rundir.Resumed, err error) {
	if resumed != nil {
		return f.resume, resumed.Label, resumed, nil
	}
	out, label = f.out, runner.NewLabel(time.Now())
	if out == "" {
		out = filepath.Join("out", label)
	}
	d, err := rundir.Create(out)
	if errors.Is(err, rundir.ErrNotEmpty) {
		return "", "", nil, exitf(ExitInput, "--out %s: %v", out, unwrap(err))
	}
	if err != nil {
		return "", "", nil, exitf(ExitHarness, "%v", err)
	}
	if f.out == "" {
		latest := filepath.Join("out", "latest")
		os.Remove(latest)
		_ = os.Symlink(label, latest)
	}
	return out, label, &rundir.Resumed{Dir: d}, nil
}

// runOptions are the runner's options: progress on a terminal as one
// live line per guest, otherwise (CI, files) timestamped lines with the
// runner's detail messages too.
func runOptions(cmd *cobra.Command, f runFlags, out, label string) (runner.Options, progress.Sink) {
	stdout := progressOut(cmd, f.json)
	logger := slog.New(slog.DiscardHandler)
	if f.verbose {
		logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	opt := runner.Options{Out: out, RunLabel: label, Version: getVersion(),
		KeepOnFailure: f.keep, Resume: f.resume != "", Log: logger}
	if f.collect {
		opt.Collect = plan.CollectAlways
	}
	tty := false
	if fo, ok := stdout.(*os.File); ok {
		tty = progress.IsTerminal(fo)
	}
	sink := progress.New(stdout, tty)
	opt.Sink = sink
	if ev, ok := sink.(progress.Eventer); ok {
		// The line logger: the runner's events in its one line format.
		opt.Progress = ev
	}
	return opt, sink
}

// attaches reports whether driver reaches machines that already run (a
// one-off run then needs no --image).
func attaches(driver string) bool {
	d, ok := drivers.Lookup(driver)
	return ok && d.Attaches
}

// printRun prints a resolved run (--dry-run, `plan check`).
func printRun(w io.Writer, rr *resolve.Run, asJSON bool) error {
	if asJSON {
		return rr.WriteJSON(w)
	}
	return rr.WriteText(w)
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
	return resolve.Load(filepath.Join(d.Path(), rundir.PlanFile))
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
	if b := run.UnverifiedBanner(); b != "" {
		fmt.Fprintf(w, "WARNING: %s\n", l(b))
	}
	for _, t := range run.Targets {
		c := t.Count()
		fmt.Fprintf(w, "%-28s %-14s pass %d  fail %d  error %d  skip %d  n/a %d  waived %d\n", l(t.ID), l(string(t.Verdict(run.Complete))),
			c[reports.Pass], c[reports.Fail], c[reports.Error], c[reports.Skip], c[reports.NA], c[reports.Waived])
		if t.NothingTested(run.Complete) {
			fmt.Fprintf(w, "%-28s %s\n", "", t.Why(run.Complete))
		}
		switch {
		case t.Guest.Simulated():
			fmt.Fprintf(w, "%-28s SIMULATED guest: %s\n", "", l(t.Guest.Identity))
		case t.Guest.IdentityError != "":
			fmt.Fprintf(w, "%-28s guest identity unknown: %s\n", "", l(t.Guest.IdentityError))
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
func warnInsecure(w io.Writer, hosts map[string]*plan.Host) {
	for _, name := range slices.Sorted(maps.Keys(hosts)) {
		if hosts[name].Insecure {
			fmt.Fprintf(w, "virtcert: WARNING: %s; every report will say so\n", drivers.TLSBanner(name))
		}
	}
}
