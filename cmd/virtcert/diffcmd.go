package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/virtcert/virtcert/reports/diff"
)

// --fail-on levels of `report diff`, each including the one before.
const (
	FailOnNone        = "none"        // report only: exit 0
	FailOnRegression  = "regression"  // a check went from PASS/SKIP to FAIL/ERROR/WAIVED (the default)
	FailOnMeasurement = "measurement" // also: a measurement got worse by more than --threshold
)

var failOnLevels = []string{FailOnNone, FailOnRegression, FailOnMeasurement}

// diffDoc is `report diff --json`: the diff and the gate's decision.
type diffDoc struct {
	diff.Doc
	FailOn   string   `json:"fail_on"`
	Failed   bool     `json:"failed"`   // the command exits 1
	Failures []string `json:"failures"` // why, one line each
}

// ratio is a relative threshold given as 0.2 or 20%.
type ratio float64

func (r *ratio) String() string { return strconv.FormatFloat(float64(*r)*100, 'g', -1, 64) + "%" }
func (r *ratio) Type() string   { return "ratio" }
func (r *ratio) Set(s string) error {
	pct := strings.HasSuffix(s, "%")
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || f <= 0 {
		return fmt.Errorf("want a positive ratio such as 0.2 or 20%%")
	}
	if pct {
		f /= 100
	}
	*r = ratio(f)
	return nil
}

func newDiff() *cobra.Command {
	threshold := ratio(diff.DefaultThreshold)
	var htmlOut, failOn string
	var asJSON bool
	c := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Show what changed between two runs; exit 1 when NEW has regressions (--fail-on)",
		Long: `Show what changed between two runs (run directories or results.json):
regressions, fixes, other status changes, and measurements that moved by
more than --threshold (relative, default 10%).

--fail-on decides when the command exits 1:
  none         never (report only)
  regression   a check went from PASS or SKIP to FAIL, ERROR or WAIVED (default)
  measurement  a regression, or a measurement worse by more than --threshold:
               "higher" measurements (throughput, IOPS) fell, "lower" ones
               (latency, clock offset and drift, boot and reboot seconds)
               grew in magnitude
--json prints the diff as one JSON document (virtcert.diff/v1, reports/SCHEMA.md).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(failOnLevels, failOn) {
				return exitf(ExitInput, "--fail-on: %q is not one of %s", failOn, strings.Join(failOnLevels, ", "))
			}
			a, err := loadRun(args[0])
			if err != nil {
				return err
			}
			b, err := loadRun(args[1])
			if err != nil {
				return err
			}
			// Compare cleans what the diff prints to the terminal.
			d := diff.Compare(a, b, diff.Options{Threshold: float64(threshold)})
			failures := diffFailures(d, failOn)
			if asJSON {
				err = writeJSON(cmd.OutOrStdout(), diffDoc{Doc: d.Doc(), FailOn: failOn, Failed: len(failures) > 0, Failures: failures})
			} else {
				err = diff.WriteText(cmd.OutOrStdout(), d)
			}
			if err != nil {
				return err
			}
			if htmlOut != "" {
				if err := writeDiffHTML(htmlOut, d); err != nil {
					return err
				}
			}
			if len(failures) > 0 {
				return exitf(ExitFailed, "%s -> %s: %s", a.ID, b.ID, strings.Join(failures, "; "))
			}
			return nil
		},
	}
	c.Flags().Var(&threshold, "threshold", "relative change of a measurement worth reporting and, with --fail-on measurement, failing on (0.2 or 20%)")
	c.Flags().StringVar(&failOn, "fail-on", FailOnRegression, "exit 1 on: "+strings.Join(failOnLevels, ", ")+" (each includes the one before)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the diff as JSON ("+diff.Schema+")")
	c.Flags().StringVar(&htmlOut, "html", "", "also write the diff as HTML to this file")
	return c
}

// diffFailures says why the gate fails at level failOn (none: it passes).
func diffFailures(d *diff.Diff, failOn string) []string {
	out := []string{}
	if failOn == FailOnNone {
		return out
	}
	if d.HasRegressions() {
		out = append(out, fmt.Sprintf("%d regression(s)", len(d.Regressions)))
	}
	if failOn == FailOnMeasurement {
		if w := d.WorseMeasures(); len(w) > 0 {
			out = append(out, fmt.Sprintf("%d measurement(s) worse by more than %g%% (first: %s %s %g -> %g %s)",
				len(w), d.Threshold*100, w[0].Target, w[0].Name, w[0].From, w[0].To, w[0].Unit))
		}
	}
	return out
}

func writeDiffHTML(file string, d *diff.Diff) error {
	f, err := os.Create(file)
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
	return nil
}
