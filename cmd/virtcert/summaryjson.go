package main

import (
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites/runner"
)

// SummarySchema identifies `virtcert run --json` (reports/SCHEMA.md).
const SummarySchema = "virtcert.run-summary/v1"

// summaryDoc is the final summary of `run --json`: what printSummary
// prints, plus the exit code and its message.
type summaryDoc struct {
	SchemaVersion string            `json:"schema_version"`
	Virtcert      *reports.Build    `json:"virtcert"`
	Run           string            `json:"run"`
	Plan          string            `json:"plan,omitempty"`
	PlanSHA256    string            `json:"plan_sha256,omitempty"`
	Verdict       reports.Verdict   `json:"verdict"`
	Complete      bool              `json:"complete"`
	ExitCode      int               `json:"exit_code"`
	Error         string            `json:"error,omitempty"` // the one-line message on stderr, when the exit code is not 0
	Targets       []targetSummary   `json:"targets"`
	Kept          []keptGuest       `json:"kept,omitempty"`
	Leftovers     []string          `json:"leftovers,omitempty"`
	TLSUnverified []string          `json:"tls_unverified_hosts,omitempty"`
	Reports       map[string]string `json:"reports"` // dir, results, junit, html: paths
}

type targetSummary struct {
	ID      string          `json:"id"`
	Verdict reports.Verdict `json:"verdict"`
	Why     string          `json:"why"`
	Error   string          `json:"error,omitempty"`
	// Counts has a key per status (lower case), zero included.
	Counts map[string]int `json:"counts"`
}

type keptGuest struct {
	Target    string `json:"target"`
	Guest     string `json:"guest"`
	SSHConfig string `json:"ssh_config"`
	Command   string `json:"command"`
}

// progressOut is where run progress goes: stdout, or stderr when stdout
// carries the --json document.
func progressOut(cmd *cobra.Command, asJSON bool) io.Writer {
	if asJSON {
		return cmd.ErrOrStderr()
	}
	return cmd.OutOrStdout()
}

// printSummaryJSON writes the summary document and passes exit through.
func printSummaryJSON(w io.Writer, run *reports.Run, paths reportPaths, o *runner.Outcome, exit error) error {
	run = reports.CleanCopy(run)
	doc := summaryDoc{SchemaVersion: SummarySchema, Virtcert: run.Build, Run: run.ID, Plan: run.PlanName, PlanSHA256: run.PlanHash,
		Verdict: run.Verdict(), Complete: run.Complete, Targets: []targetSummary{},
		Reports: map[string]string{"dir": paths.dir, "results": paths.results, "junit": paths.junit, "html": paths.html}}
	if exit != nil {
		doc.ExitCode, doc.Error = codeFor(exit), oneLine(exit.Error())
	}
	seen := map[string]bool{}
	for _, t := range run.Targets {
		ts := targetSummary{ID: t.ID, Verdict: t.Verdict(run.Complete), Why: t.Why(run.Complete), Error: t.Error, Counts: map[string]int{}}
		for _, s := range reports.Statuses {
			ts.Counts[strings.ToLower(string(s))] = 0
		}
		for s, n := range t.Count() {
			ts.Counts[strings.ToLower(string(s))] = n
		}
		doc.Targets = append(doc.Targets, ts)
		if t.HostInfo.TLSUnverified && !seen[t.Host] {
			seen[t.Host] = true
			doc.TLSUnverified = append(doc.TLSUnverified, t.Host)
		}
	}
	if o != nil {
		for _, k := range o.Kept {
			doc.Kept = append(doc.Kept, keptGuest{Target: reports.Line(k.Target), Guest: reports.Line(k.Guest), SSHConfig: reports.Line(k.SSHConfig), Command: reports.Line(k.Command)})
		}
		for _, l := range o.Leftovers {
			doc.Leftovers = append(doc.Leftovers, reports.Line(l))
		}
	}
	if err := writeJSON(w, doc); err != nil {
		return exitf(ExitHarness, "writing the summary: %v", err)
	}
	return exit
}
