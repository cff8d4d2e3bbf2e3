package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/resolve"
)

func newPlan() *cobra.Command {
	c := &cobra.Command{Use: "plan", Short: "Work with plan files"}
	var asJSON bool
	check := &cobra.Command{
		Use:   "check PLAN",
		Short: "Validate a plan and print the run it resolves to (exit 0, or 2 listing every problem)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := resolve.Load(args[0])
			if err == nil {
				var rr *resolve.Run
				if rr, err = resolve.Resolve(p, resolve.Options{}); err == nil {
					return printRun(cmd.OutOrStdout(), rr, asJSON)
				}
				err = resolveProblem(err)
			}
			var pe plan.Errors
			if errors.As(err, &pe) {
				if asJSON {
					printProblems(cmd.OutOrStdout(), pe)
				}
				// Every problem, one a line (FILE:LINE: FIELD: MESSAGE).
				for _, e := range pe {
					fmt.Fprintln(cmd.ErrOrStderr(), e.Error())
				}
				return exitf(ExitInput, "%d problem(s) in %s", len(pe), args[0])
			}
			return exitf(ExitInput, "%v", err)
		},
	}
	check.Flags().BoolVar(&asJSON, "json", false, "print the resolved run (or the problems) as JSON")
	c.AddCommand(check)
	return c
}

// printProblems writes a bad plan's or bad flags' problems as JSON
// (`plan check --json`, `run --dry-run --json`; see USAGE.md).
func printProblems(w io.Writer, pe plan.Errors) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(struct {
		SchemaVersion string        `json:"schema_version"`
		Problems      []*plan.Error `json:"problems"`
	}{resolve.ProblemsSchema, pe})
}

// resolveProblem is resolve.Resolve's bad-input error (a selection that
// leaves no check, a driver not built in) as a plan problem: printed
// like the plan's own and, with --json, as the problems document (it
// left stdout empty).
func resolveProblem(err error) error {
	if de, ok := errors.AsType[*drivers.Error](err); ok && de.Class == drivers.ClassInput {
		return plan.Errors{&plan.Error{Field: de.Op, Message: de.Err.Error()}}
	}
	return exitf(ExitInput, "%v", err)
}
