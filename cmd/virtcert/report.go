package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/bundle"
	"github.com/virtcert/virtcert/reports/html"
	"github.com/virtcert/virtcert/reports/junit"
	"github.com/virtcert/virtcert/reports/rundir"
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

// writeReports writes the bundle into d: results.json, junit.xml,
// report.html, arts (a merged run's shard artifacts; nil otherwise), the
// manifest of the run's files, and with signKey its signature. A signed
// bundle is never re-sealed without its key.
func writeReports(d *rundir.Dir, run *reports.Run, arts []bundle.Artifact, signKey string) (reportPaths, error) {
	dir := d.Path()
	opt := bundle.Options{HTML: html.Options{Generated: time.Now()}}
	if signKey != "" {
		k, err := bundle.LoadPrivateKey(signKey)
		if err != nil {
			return reportPaths{dir: dir}, err
		}
		opt.SignKey = k
	}
	if err := bundle.Write(d, run, arts, opt); err != nil {
		return reportPaths{dir: dir}, err
	}
	return reportPaths{dir: dir, results: filepath.Join(dir, ResultsFile), junit: filepath.Join(dir, JUnitFile), html: filepath.Join(dir, HTMLFile)}, nil
}

// loadRun reads a run directory (its journal, the source of truth also for
// killed runs: INCOMPLETE) or a results.json, through the one reader every
// report command and --resume share (rundir.Load), as it was written: the
// writers clean what they render (reports.CleanCopy), terminal lines go
// through reports.Line, so re-rendering keeps the evidence intact.
func loadRun(path string) (*reports.Run, error) {
	run, err := rundir.Load(path)
	if err != nil {
		return nil, exitf(ExitInput, "%s: %v", path, unwrap(err))
	}
	return run, nil
}

// reportDir opens where `report` writes: DIR itself (a run directory; a
// signed one only with its signing key), or a new or empty -o directory.
func reportDir(dir, out, signKey string) (*rundir.Dir, error) {
	if out != "" {
		d, err := rundir.Create(out)
		if errors.Is(err, rundir.ErrNotEmpty) {
			return nil, exitf(ExitInput, "-o %s: %v", out, unwrap(err))
		}
		if err != nil {
			return nil, exitf(ExitHarness, "%v", err)
		}
		return d, nil
	}
	d, err := rundir.Reopen(dir)
	if err != nil {
		return nil, exitf(ExitInput, "%v", unwrap(err))
	}
	if signKey == "" && d.Exists(bundle.SignatureFile) {
		d.Close()
		return nil, exitf(ExitInput, "%s: %v", dir, bundle.ErrSigned)
	}
	return d, nil
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
	var out, waivers, signKey string
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
			d, err := reportDir(args[0], out, signKey)
			if err != nil {
				return err
			}
			defer d.Close()
			paths, err := writeReports(d, run, nil, signKey)
			printSummary(cmd.OutOrStdout(), run, paths, nil)
			if err != nil {
				return exitf(ExitHarness, "writing reports: %v", err)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "", "write into this new or empty directory instead of DIR")
	c.Flags().StringVar(&signKey, "sign-key", "", "sign the re-rendered bundle (needed to re-render a signed bundle in place)")
	c.Flags().StringVar(&waivers, "waivers", "", "apply this waiver file")

	c.AddCommand(
		renderCmd("html", HTMLFile, func(b *bytes.Buffer, r *reports.Run) error {
			return html.Write(b, r, html.Options{Generated: time.Now()})
		}),
		renderCmd("junit", JUnitFile, func(b *bytes.Buffer, r *reports.Run) error { return junit.Write(b, r) }),
		newMerge(), newDiff(), newVerify(),
	)
	return c
}

// renderCmd is `report html|junit RUN`: one rendering of a run, to a
// file, stdout, or in place in its run directory (re-sealed).
func renderCmd(name, file string, render func(*bytes.Buffer, *reports.Run) error) *cobra.Command {
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
			var b bytes.Buffer
			if err := render(&b, run); err != nil {
				return exitf(ExitHarness, "%v", err)
			}
			if o == "-" {
				_, err := cmd.OutOrStdout().Write(b.Bytes())
				return err
			}
			if o == "" {
				o = file
				if st, err := os.Stat(args[0]); err == nil && st.IsDir() {
					o = filepath.Join(args[0], file)
					if err := rewrite(args[0], file, b.Bytes()); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s (%s)\n", file, o, run.Verdict())
					return nil
				}
			}
			if err := os.WriteFile(o, b.Bytes(), 0o644); err != nil {
				return exitf(ExitHarness, "%v", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s (%s)\n", file, o, run.Verdict())
			return nil
		},
	}
	s.Flags().StringVarP(&o, "out", "o", "", "output file (- for stdout)")
	return s
}

// rewrite replaces one rendering in a run directory and re-seals it; a
// signed bundle is refused (re-render it with `report DIR --sign-key`).
func rewrite(dir, file string, b []byte) error {
	d, err := reportDir(dir, "", "")
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.WriteFile(file, b, 0o644); err != nil {
		return exitf(ExitHarness, "%v", err)
	}
	if err := bundle.Seal(d, nil); err != nil {
		return exitf(ExitHarness, "%v", err)
	}
	return nil
}
