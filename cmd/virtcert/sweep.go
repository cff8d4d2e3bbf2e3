package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/resolve"
	"github.com/virtcert/virtcert/suites/runner"
)

type sweepFlags struct {
	planFile, driver, uri, label string
	all, dry, json               bool
	older                        time.Duration
	options                      map[string]string
}

// sweepHost is one host to sweep: its registered driver, uri and how to
// open it.
type sweepHost struct {
	name string
	drv  drivers.Driver
	uri  string
	opts drivers.OpenOptions
}

func newSweep() *cobra.Command {
	var f sweepFlags
	c := &cobra.Command{
		Use:   "sweep (--plan FILE | --uri URI [--driver D]) (--run LABEL | --all | --older-than DURATION) [--dry-run]",
		Short: "Remove what runs left behind (domains, volumes, seeds), found by run label",
		Long: `Remove every resource carrying a virtcert run label: of one run (--run),
of every run (--all), or of runs older than a duration (--older-than 24h).
Resources without a virtcert label are never touched. --dry-run lists what
would be removed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return doSweep(cmd, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.planFile, "plan", "", "sweep every host of this plan")
	fl.StringVar(&f.driver, "driver", plan.DefaultDriver, "driver of --uri ("+strings.Join(drivers.Names(), ", ")+")")
	fl.StringVar(&f.uri, "uri", "", "host URI (\"lab\" = the local lab)")
	fl.StringVar(&f.label, "run", "", "run label to sweep")
	fl.BoolVar(&f.all, "all", false, "sweep every virtcert run")
	fl.DurationVar(&f.older, "older-than", 0, "only resources older than this (e.g. 24h)")
	fl.BoolVar(&f.dry, "dry-run", false, "list, do not remove")
	fl.BoolVar(&f.json, "json", false, "print what was (or would be) removed as JSON ("+SweepSchema+")")
	fl.StringToStringVar(&f.options, "option", nil, "driver option for --uri, KEY=VALUE (e.g. pool=virtcert); \"--uri lab\" sets the lab's network and pool")
	return c
}

func doSweep(cmd *cobra.Command, f sweepFlags) error {
	switch {
	case f.label != "" && f.all:
		return exitf(ExitInput, "give --run LABEL or --all, not both")
	case f.label == "" && !f.all && f.older == 0:
		return exitf(ExitInput, "say what to sweep: --run LABEL, --all or --older-than DURATION")
	case f.label != "" && !runner.ValidLabel(f.label):
		return exitf(ExitInput, "--run: %q is not a run label (vc-YYYYMMDD-HHMMSS-xxxxxx)", f.label)
	case f.older < 0:
		return exitf(ExitInput, "--older-than: must not be negative")
	}
	hosts, err := sweepHosts(cmd.ErrOrStderr(), f)
	if err != nil {
		return err
	}
	sel := drivers.SweepSelector{RunLabel: f.label, OlderThan: f.older, DryRun: f.dry}
	verb := "removed"
	if f.dry {
		verb = "would remove"
	}
	total := 0
	swept := map[string]bool{}
	if f.label != "" {
		swept[f.label] = true
	}
	var firstErr error
	out := cmd.OutOrStdout()
	doc := sweepDocOf(f)
	if f.json {
		out = io.Discard
		defer func() { _ = writeJSON(cmd.OutOrStdout(), doc.done(firstErr)) }()
	}
	for _, h := range hosts {
		res, err := sweepOne(cmd.Context(), out, h, sel, verb)
		if res == nil && err != nil {
			firstErr = err
			return err
		}
		doc.add(h.name, res)
		total += len(res)
		for _, r := range res {
			swept[r.RunLabel] = true
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if !f.dry && firstErr == nil {
		// The kept guests are gone: their private key goes too.
		for l := range swept {
			if runner.ValidLabel(l) {
				_ = os.RemoveAll(runner.RunKeyDir("", l))
			}
		}
	}
	if total == 0 {
		fmt.Fprintln(out, "nothing to sweep")
	} else {
		fmt.Fprintf(out, "%s %d resource(s)\n", verb, total)
	}
	return firstErr
}

// sweepHosts lists the hosts to sweep: each distinct driver and uri of a
// plan, or the one --uri names.
func sweepHosts(stderr io.Writer, f sweepFlags) ([]sweepHost, error) {
	switch {
	case f.planFile != "" && f.uri != "":
		return nil, exitf(ExitInput, "give --plan or --uri, not both")
	case f.planFile != "":
		p, err := resolve.Load(f.planFile)
		if err != nil {
			return nil, err
		}
		warnInsecure(stderr, p.Hosts)
		return planHosts(p)
	case f.uri != "":
		d, ok := drivers.Lookup(f.driver)
		if !ok {
			return nil, exitf(ExitInput, "--driver: unknown driver %q%s (want one of %v)", f.driver, plan.Suggest(f.driver, drivers.Names()), drivers.Names())
		}
		u, err := resolve.ExpandURI(f.uri)
		if err != nil {
			return nil, exitf(ExitInput, "--uri: %v", err)
		}
		if _, err := d.CheckURI(u); err != nil {
			return nil, exitf(ExitInput, "--uri: %v", err)
		}
		return []sweepHost{{name: "host", drv: d, uri: u, opts: drivers.OpenOptions{Extra: plan.LabOptions(f.driver, f.uri, f.options)}}}, nil
	}
	return nil, exitf(ExitInput, "say where to sweep: --plan FILE or --uri URI")
}

func planHosts(p *plan.Plan) ([]sweepHost, error) {
	var hosts []sweepHost
	seen := map[string]bool{}
	for name, h := range p.Hosts {
		if seen[h.Driver+" "+h.URI] {
			continue
		}
		seen[h.Driver+" "+h.URI] = true
		d, ok := drivers.Lookup(h.Driver)
		if !ok {
			return nil, exitf(ExitInput, "driver %q is not built into this virtcert", h.Driver)
		}
		user, pass, err := resolve.Credentials(h)
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, sweepHost{name: name, drv: d, uri: h.URI, opts: drivers.OpenOptions{Username: user, Password: pass,
			Insecure: h.Insecure, CACertFile: h.CACert, ClientCertFile: h.ClientCert, ClientKeyFile: h.ClientKey, Extra: h.Options}})
	}
	sort.Slice(hosts, func(i, j int) bool { return hosts[i].name < hosts[j].name })
	return hosts, nil
}

// sweepOne sweeps one host and prints what it removed. A nil list with
// an error: the host could not be opened (the sweep stops).
func sweepOne(ctx context.Context, w io.Writer, h sweepHost, sel drivers.SweepSelector, verb string) ([]drivers.Resource, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	host, err := h.drv.Open(ctx, h.uri, h.opts)
	if err != nil {
		return nil, drivers.Wrap(drivers.ClassHost, "sweep: open "+h.name, err)
	}
	res, err := host.Sweep(ctx, sel)
	host.Close()
	for _, r := range res {
		fmt.Fprintf(w, "%s %s %s (run %s) on %s\n", verb, r.Kind, r.Name, r.RunLabel, h.name)
	}
	if err != nil {
		err = drivers.Wrap(drivers.ClassHost, "sweep "+h.name, err)
	}
	if res == nil {
		res = []drivers.Resource{}
	}
	return res, err
}
