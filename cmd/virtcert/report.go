package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/bundle"
	"github.com/virtcert/virtcert/reports/html"
	"github.com/virtcert/virtcert/reports/journal"
	"github.com/virtcert/virtcert/reports/junit"
	"github.com/virtcert/virtcert/reports/waiver"
)

// File names in a run directory.
const (
	ResultsFile = bundle.ResultsFile
	JUnitFile   = bundle.JUnitFile
	HTMLFile    = bundle.HTMLFile
)

type reportPaths struct {
	dir, results, junit, html string
}

// writeFile writes through a temporary file and a rename, so a reader
// never sees half a report and a full disk leaves the old one.
func writeFile(path string, render func(*bytes.Buffer) error) error {
	var b bytes.Buffer
	if err := render(&b); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// writeReports writes the bundle into dir: results.json, junit.xml,
// report.html, the manifest of every file, and with signKey its signature.
func writeReports(dir string, run *reports.Run, signKey string) (reportPaths, error) {
	opt := bundle.Options{HTML: html.Options{Generated: time.Now()}}
	if signKey != "" {
		k, err := bundle.LoadPrivateKey(signKey)
		if err != nil {
			return reportPaths{dir: dir}, err
		}
		opt.SignKey = k
	}
	if err := bundle.Write(dir, run, nil, opt); err != nil {
		return reportPaths{dir: dir}, err
	}
	return reportPaths{dir: dir, results: filepath.Join(dir, ResultsFile), junit: filepath.Join(dir, JUnitFile), html: filepath.Join(dir, HTMLFile)}, nil
}

// loadRun reads a run: the journal of a run directory (the source of
// truth, also for killed runs: INCOMPLETE), or a results.json file.
// loadRun reads a run back (journal or results.json) as it was written:
// the writers clean what they render (reports.CleanCopy), terminal lines
// go through reports.Line, so re-rendering keeps the evidence intact.
func loadRun(path string) (*reports.Run, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, exitf(ExitInput, "%s: %v", path, unwrap(err))
	}
	if st.IsDir() {
		if _, err := os.Stat(filepath.Join(path, journal.File)); err == nil {
			run, err := journal.Replay(path)
			if err != nil {
				return nil, exitf(ExitInput, "%s: %v", path, err)
			}
			// A finished run's results.json carries waivers applied at
			// the end; prefer it when it describes the same, complete run.
			if r2, err := readResults(filepath.Join(path, ResultsFile)); err == nil && r2.ID == run.ID && r2.Complete == run.Complete {
				return r2, nil
			}
			return run, nil
		}
		path = filepath.Join(path, ResultsFile)
	}
	run, err := readResults(path)
	if err != nil {
		return nil, exitf(ExitInput, "%s: %v", path, err)
	}
	return run, nil
}

func readResults(path string) (*reports.Run, error) {
	f, err := reports.OpenLimited(path, reports.MaxResultsBytes)
	if err != nil {
		return nil, unwrap(err)
	}
	defer f.Close()
	var run reports.Run
	if err := json.NewDecoder(f).Decode(&run); err != nil {
		return nil, fmt.Errorf("not a results.json: %v", err)
	}
	if run.Schema != reports.SchemaVersion {
		return nil, fmt.Errorf("schema %q, want %q", run.Schema, reports.SchemaVersion)
	}
	return &run, nil
}

func unwrap(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func loadWaivers(file string) ([]waiver.Waiver, error) {
	if file == "" {
		return nil, nil
	}
	return waiver.Load(file)
}

func applyWaivers(run *reports.Run, ws []waiver.Waiver) { waiver.Apply(run, ws, time.Now()) }

func newReport() *cobra.Command {
	var out, waivers string
	c := &cobra.Command{
		Use:   "report DIR",
		Short: "Render the reports of a run directory again (a killed run renders as INCOMPLETE)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			run, err := loadRun(args[0])
			if err != nil {
				return err
			}
			if waivers != "" {
				ws, err := loadWaivers(waivers)
				if err != nil {
					return exitf(ExitInput, "--waivers: %v", err)
				}
				applyWaivers(run, ws)
			}
			dir := args[0]
			if out != "" {
				dir = out
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return exitf(ExitHarness, "%v", err)
				}
			}
			paths, err := writeReports(dir, run, "")
			printSummary(cmd.OutOrStdout(), run, paths, nil)
			if err != nil {
				return exitf(ExitHarness, "writing reports: %v", err)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "", "write into this directory instead of DIR")
	c.Flags().StringVar(&waivers, "waivers", "", "apply this waiver file")

	one := func(name, file string, render func(*bytes.Buffer, *reports.Run) error) *cobra.Command {
		var o string
		s := &cobra.Command{
			Use:   name + " RUN",
			Short: "Write " + file + " for a run directory or results.json",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				run, err := loadRun(args[0])
				if err != nil {
					return err
				}
				if o == "" {
					o = file
					if st, err := os.Stat(args[0]); err == nil && st.IsDir() {
						o = filepath.Join(args[0], file)
					}
				}
				if o == "-" {
					var b bytes.Buffer
					if err := render(&b, run); err != nil {
						return exitf(ExitHarness, "%v", err)
					}
					_, err := cmd.OutOrStdout().Write(b.Bytes())
					return err
				}
				if err := writeFile(o, func(b *bytes.Buffer) error { return render(b, run) }); err != nil {
					return exitf(ExitHarness, "%v", err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s (%s)\n", file, o, run.Verdict())
				return nil
			},
		}
		s.Flags().StringVarP(&o, "out", "o", "", "output file (- for stdout)")
		return s
	}
	c.AddCommand(
		one("html", HTMLFile, func(b *bytes.Buffer, r *reports.Run) error {
			return html.Write(b, r, html.Options{Generated: time.Now()})
		}),
		one("junit", JUnitFile, func(b *bytes.Buffer, r *reports.Run) error { return junit.Write(b, r) }),
		newMerge(), newDiff(), newVerify(),
	)
	return c
}
