package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/bundle"
	"github.com/virtcert/virtcert/reports/diff"
	"github.com/virtcert/virtcert/reports/merge"
)

func newMerge() *cobra.Command {
	var out, id string
	var lastWins bool
	c := &cobra.Command{
		Use:   "merge -o DIR RUN...",
		Short: "Merge shard runs (run directories or results.json) into one run directory",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return exitf(ExitInput, "merge: give the output directory with -o DIR")
			}
			run, err := merge.Dirs(args, merge.Options{ID: id, LastWins: lastWins})
			if err != nil {
				return exitf(ExitInput, "merge: %v", err)
			}
			paths, err := writeReports(out, run, "")
			printSummary(cmd.OutOrStdout(), run, paths, nil)
			if err != nil {
				return exitf(ExitHarness, "writing reports: %v", err)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "", "output run directory")
	c.Flags().StringVar(&id, "id", "", "ID of the merged run when the shards' IDs differ")
	c.Flags().BoolVar(&lastWins, "last-wins", false, "a target in several shards: take the last instead of failing")
	return c
}

func newDiff() *cobra.Command {
	var threshold float64
	var htmlOut string
	c := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Show what changed between two runs; exit 1 when NEW has regressions",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := loadRun(args[0])
			if err != nil {
				return err
			}
			b, err := loadRun(args[1])
			if err != nil {
				return err
			}
			// The text diff prints IDs and reasons to the terminal.
			d := diff.Compare(reports.CleanCopy(a), reports.CleanCopy(b), diff.Options{Threshold: threshold})
			if err := diff.WriteText(cmd.OutOrStdout(), d); err != nil {
				return err
			}
			if htmlOut != "" {
				f, err := os.Create(htmlOut)
				if err != nil {
					return exitf(ExitHarness, "%v", err)
				}
				err = diff.WriteHTML(f, d)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return exitf(ExitHarness, "%v", err)
				}
			}
			if d.HasRegressions() {
				return exitf(ExitFailed, "%d regression(s) from %s to %s", len(d.Regressions), a.ID, b.ID)
			}
			return nil
		},
	}
	c.Flags().Float64Var(&threshold, "threshold", 0, "relative change of a measurement worth reporting (default 0.10)")
	c.Flags().StringVar(&htmlOut, "html", "", "also write the diff as HTML to this file")
	return c
}

func newVerify() *cobra.Command {
	var pubFile string
	c := &cobra.Command{
		Use:   "verify DIR",
		Short: "Verify a result bundle against its manifest and signature; exit 1 when it fails",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var pub []byte
			if pubFile != "" {
				k, err := bundle.LoadPublicKey(pubFile)
				if err != nil {
					return exitf(ExitInput, "--pub: %v", err)
				}
				pub = k
			}
			rep, err := bundle.Verify(args[0], pub)
			if err != nil {
				return exitf(ExitInput, "%v", err)
			}
			fmt.Fprint(cmd.OutOrStdout(), reports.Clean(rep.String()))
			if !rep.OK() {
				return exitf(ExitFailed, "bundle %s failed verification", args[0])
			}
			return nil
		},
	}
	c.Flags().StringVar(&pubFile, "pub", "", "the signer's public key you trust (PEM); without it only integrity is checked")
	return c
}

// checkSignKey loads the signing key before the run, so a bad key is a
// usage error (exit 2) and not a surprise at the end.
func checkSignKey(file string) error {
	if _, err := bundle.LoadPrivateKey(file); err != nil {
		return exitf(ExitInput, "--sign-key: %v", err)
	}
	return nil
}
