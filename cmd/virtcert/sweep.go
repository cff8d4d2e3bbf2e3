package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/suites/runner"
)

func newSweep() *cobra.Command {
	var (
		planFile, driver, uri, label string
		all, dry                     bool
		older                        time.Duration
		options                      map[string]string
	)
	c := &cobra.Command{
		Use:   "sweep (--plan FILE | --uri URI [--driver D]) (--run LABEL | --all | --older-than DURATION) [--dry-run]",
		Short: "Remove what runs left behind (domains, volumes, seeds), found by run label",
		Long: `Remove every resource carrying a virtcert run label: of one run (--run),
of every run (--all), or of runs older than a duration (--older-than 24h).
Resources without a virtcert label are never touched. --dry-run lists what
would be removed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sel := drivers.SweepSelector{RunLabel: label, OlderThan: older, DryRun: dry}
			switch {
			case label != "" && all:
				return exitf(ExitInput, "give --run LABEL or --all, not both")
			case label == "" && !all && older == 0:
				return exitf(ExitInput, "say what to sweep: --run LABEL, --all or --older-than DURATION")
			case label != "" && !runner.ValidLabel(label):
				return exitf(ExitInput, "--run: %q is not a run label (vc-YYYYMMDD-HHMMSS-xxxxxx)", label)
			case older < 0:
				return exitf(ExitInput, "--older-than: must not be negative")
			}
			type hostRef struct{ name, driver, uri string }
			var hosts []hostRef
			var hp map[string]*plan.Host
			switch {
			case planFile != "" && uri != "":
				return exitf(ExitInput, "give --plan or --uri, not both")
			case planFile != "":
				p, err := plan.Load(planFile)
				if err != nil {
					return err
				}
				hp = p.Hosts
				warnInsecure(cmd.ErrOrStderr(), p)
				seen := map[string]bool{}
				for name, h := range p.Hosts {
					if !seen[h.Driver+" "+h.URI] {
						seen[h.Driver+" "+h.URI] = true
						hosts = append(hosts, hostRef{name, h.Driver, h.URI})
					}
				}
				sort.Slice(hosts, func(i, j int) bool { return hosts[i].name < hosts[j].name })
			case uri != "":
				u, err := plan.ExpandURI(uri)
				if err != nil {
					return exitf(ExitInput, "--uri: %v", err)
				}
				if _, err := plan.CheckURI(driver, u); err != nil {
					return exitf(ExitInput, "--uri: %v", err)
				}
				hosts = append(hosts, hostRef{"host", driver, u})
				options = plan.LabOptions(driver, uri, options)
			default:
				return exitf(ExitInput, "say where to sweep: --plan FILE or --uri URI")
			}
			verb := "removed"
			if dry {
				verb = "would remove"
			}
			total := 0
			swept := map[string]bool{}
			if label != "" {
				swept[label] = true
			}
			var firstErr error
			for _, h := range hosts {
				open := openers[h.driver]
				if open == nil {
					return exitf(ExitInput, "driver %q is not built into this virtcert", h.driver)
				}
				oo := drivers.OpenOptions{Extra: options}
				if hp != nil {
					x := hp[h.name]
					user, pass, err := x.Credentials()
					if err != nil {
						return err
					}
					oo = drivers.OpenOptions{Username: user, Password: pass, Insecure: x.Insecure, CACertFile: x.CACert,
						ClientCertFile: x.ClientCert, ClientKeyFile: x.ClientKey, Extra: x.Options}
				}
				ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Minute)
				host, err := open(ctx, h.uri, oo)
				if err != nil {
					cancel()
					return drivers.Wrap(drivers.ClassHost, "sweep: open "+h.name, err)
				}
				res, err := host.Sweep(ctx, sel)
				host.Close()
				cancel()
				for _, r := range res {
					fmt.Fprintf(cmd.OutOrStdout(), "%s %s %s (run %s) on %s\n", verb, r.Kind, r.Name, r.RunLabel, h.name)
					swept[r.RunLabel] = true
				}
				total += len(res)
				if err != nil && firstErr == nil {
					firstErr = drivers.Wrap(drivers.ClassHost, "sweep "+h.name, err)
				}
			}
			if !dry && firstErr == nil {
				// The kept guests are gone: their private key goes too.
				for l := range swept {
					if runner.ValidLabel(l) {
						_ = os.RemoveAll(runner.RunKeyDir("", l))
					}
				}
			}
			if total == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "nothing to sweep")
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "%s %d resource(s)\n", verb, total)
			}
			return firstErr
		},
	}
	f := c.Flags()
	f.StringVar(&planFile, "plan", "", "sweep every host of this plan")
	f.StringVar(&driver, "driver", "libvirt", "driver of --uri")
	f.StringVar(&uri, "uri", "", "host URI (\"lab\" = the local lab)")
	f.StringVar(&label, "run", "", "run label to sweep")
	f.BoolVar(&all, "all", false, "sweep every virtcert run")
	f.DurationVar(&older, "older-than", 0, "only resources older than this (e.g. 24h)")
	f.BoolVar(&dry, "dry-run", false, "list, do not remove")
	f.StringToStringVar(&options, "option", nil, "driver option for --uri, KEY=VALUE (e.g. pool=virtcert); \"--uri lab\" sets the lab's network and pool")
	return c
}
