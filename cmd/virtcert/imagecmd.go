package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/virtcert/virtcert/imagecheck"
	"github.com/virtcert/virtcert/internal/buildinfo"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/rundir"
	"github.com/virtcert/virtcert/suites/runner"
)

type imageFlags struct {
	hypervisor, out, accel string
	timeout                time.Duration
}

func newImage() *cobra.Command {
	c := &cobra.Command{Use: "image", Short: "Preflight guest images offline, before a run"}
	var f imageFlags
	check := &cobra.Command{
		Use:   "check IMAGE",
		Short: "Read a guest image offline (libguestfs, read-only) and judge its drivers, daemons, cloud-init, SSH server and root name for a hypervisor",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return imageCheck(cmd, args[0], f)
		},
	}
	fl := check.Flags()
	fl.StringVar(&f.hypervisor, "hypervisor", "kvm", "the hypervisor the image is meant for: "+strings.Join(imagecheck.Hypervisors, " or "))
	fl.StringVar(&f.out, "out", "", "report directory: must not exist or be empty (default out/<label>)")
	fl.StringVar(&f.accel, "accel", "tcg", "acceleration of libguestfs's appliance: tcg (works everywhere) or kvm (faster where KVM works); LIBGUESTFS_BACKEND_SETTINGS wins")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "bound on reading the image")
	c.AddCommand(check)
	return c
}

// imageCheck validates every input before it reads the image, reads it
// into a scratch directory, and creates the report directory only once
// the image proved readable: bad input leaves nothing behind.
func imageCheck(cmd *cobra.Command, path string, f imageFlags) error {
	if !slices.Contains(imagecheck.Hypervisors, f.hypervisor) {
		return exitf(ExitInput, "--hypervisor %q: want %s", f.hypervisor, strings.Join(imagecheck.Hypervisors, " or "))
	}
	if f.accel != "tcg" && f.accel != "kvm" {
		return exitf(ExitInput, "--accel %q: want tcg or kvm", f.accel)
	}
	if f.timeout <= 0 {
		return exitf(ExitInput, "--timeout %s: want a positive duration", f.timeout)
	}
	img, err := imagecheck.Open(path)
	if err != nil {
		return exitf(ExitInput, "%v", err)
	}
	started := time.Now()
	label := runner.NewLabel(started)
	out := f.out
	if out == "" {
		out = filepath.Join(OutDir, label)
	}
	if err := usableOut(out); err != nil {
		return err
	}
	scratch, err := os.MkdirTemp("", "virtcert-image-")
	if err != nil {
		return exitf(ExitHarness, "%v", err)
	}
	defer os.RemoveAll(scratch)
	stdout := cmd.OutOrStdout()
	fmt.Fprintf(stdout, "virtcert image check: reading %s offline for %s (libguestfs, read-only; the first run on a machine builds its appliance, about a minute)\n", path, f.hypervisor)
	how, err := imagecheck.Extract(cmd.Context(), img, scratch, imagecheck.Options{Timeout: f.timeout, Accel: f.accel})
	if errors.Is(err, imagecheck.ErrInput) {
		return exitf(ExitInput, "%v", err)
	}
	if err != nil {
		return exitf(ExitHarness, "reading %s: %v", path, err)
	}
	tree, closer, err := imagecheck.Tree(scratch)
	if err != nil {
		return exitf(ExitHarness, "%v", err)
	}
	defer closer.Close()
	osName := imagecheck.DetectOS(tree)
	if osName == "" {
		return exitf(ExitInput, "%s: no Linux or Windows system found on it", path)
	}
	run := imageRun(label, img, f.hypervisor, imagecheck.Distro(tree, osName), how, imagecheck.Run(tree, f.hypervisor, osName), started)
	return writeImageReports(stdout, out, run)
}

// OutDir is where reports go without --out.
const OutDir = "out"

// usableOut refuses an --out that exists and is not an empty directory,
// before anything is read.
func usableOut(out string) error {
	ents, err := os.ReadDir(out)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return exitf(ExitInput, "--out %s: %v", out, unwrap(err))
	case len(ents) > 0:
		return exitf(ExitInput, "--out %s: %v", out, rundir.ErrNotEmpty)
	}
	return nil
}

func imageRun(label string, img imagecheck.Image, hv, distro, how string, results []*reports.Result, started time.Time) *reports.Run {
	build := buildinfo.Get()
	name := strings.TrimSuffix(filepath.Base(img.Path), filepath.Ext(img.Path))
	abs, _ := filepath.Abs(img.Path)
	for _, r := range results {
		if len(r.Evidence) > 0 {
			r.Evidence = append([]reports.Evidence{{Step: "read the image offline", Command: how, Profile: hv}}, r.Evidence...)
		}
	}
	return &reports.Run{
		Schema: reports.SchemaVersion, ID: label, Version: getVersion(), Build: &build,
		PlanName: "image check", Started: started, Finished: time.Now(), Complete: true,
		Targets: []*reports.Target{{
			ID: "image/" + name, Host: "image", Image: name, Profile: hv,
			Guest:   reports.GuestInfo{ImagePath: abs, Distro: distro, Config: map[string]string{"format": img.Format}},
			Results: results, Started: started, Finished: time.Now(),
		}},
	}
}

// writeImageReports writes results.json, junit.xml and report.html, prints
// one line per check and returns the exit code's error: 1 for a FAIL,
// else 3 for an ERROR or when no check passed, else nil.
func writeImageReports(w io.Writer, out string, run *reports.Run) error {
	created := false
	if _, err := os.Stat(out); errors.Is(err, os.ErrNotExist) {
		created = true
	}
	d, err := rundir.Create(out)
	if err != nil {
		return exitf(ExitHarness, "%v", err)
	}
	paths, err := writeReports(d, run, nil, "")
	d.Close()
	if err != nil {
		if created {
			os.RemoveAll(out)
		}
		return exitf(ExitHarness, "writing the reports: %v", err)
	}
	t := run.Targets[0]
	for _, r := range t.Results {
		fmt.Fprintf(w, "%-6s %-30s %s\n", r.Status, r.Check, reports.Line(r.Reason))
	}
	fmt.Fprintf(w, "%s (%s, %s): %s\nreports: %s %s %s\n", t.ID, t.Guest.Distro, t.Profile, t.Count(), paths.results, paths.junit, paths.html)
	c := t.Count()
	switch {
	case c[reports.Fail] > 0:
		return exitf(ExitFailed, "image check: %d check(s) FAILed", c[reports.Fail])
	case c[reports.Error] > 0:
		return exitf(ExitHarness, "image check: %d check(s) ERRORed", c[reports.Error])
	case c[reports.Pass] == 0:
		return exitf(ExitHarness, "image check: nothing tested: no check passed")
	}
	return nil
}
