// Command virtcert certifies guest images on hypervisor hosts. This
// package is the CLI only: flags and plan in, runner out, exit code back.
// See USAGE.md for the commands, exit codes, sweep, --resume and
// --keep-on-failure.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/virtcert/virtcert/drivers"
	_ "github.com/virtcert/virtcert/drivers/all"          // every host driver
	_ "github.com/virtcert/virtcert/guests/transport/all" // every guest transport
	"github.com/virtcert/virtcert/internal/buildinfo"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/reports"
	_ "github.com/virtcert/virtcert/suites/all" // the check catalog
)

// Exit codes (documented in USAGE.md).
const (
	ExitCertified = 0   // every target CERTIFIED
	ExitFailed    = 1   // a check FAILed: NOT CERTIFIED
	ExitInput     = 2   // bad usage, plan or input; also security errors (host key mismatch)
	ExitHarness   = 3   // harness or host failure (ERROR results, unreachable host, incomplete run)
	ExitSIGINT    = 130 // interrupted by SIGINT (after cleanup)
	ExitSIGTERM   = 143 // interrupted by SIGTERM (after cleanup)
)

// getVersion is the module version ("dev" when the build carries none);
// buildinfo.Get has the revision, dirty flag and toolchain too.
func getVersion() string { return buildinfo.Get().Version }

// exitError carries an exit code and a one-line message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitf(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

// codeFor maps an error to an exit code by its class.
func codeFor(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var pe plan.Errors
	if errors.As(err, &pe) {
		return ExitInput
	}
	// Cobra's own usage errors (unknown command, bad arguments).
	if m := err.Error(); strings.HasPrefix(m, "unknown command") || strings.HasPrefix(m, "unknown flag") ||
		strings.HasPrefix(m, "invalid argument") || strings.Contains(m, "requires") || strings.Contains(m, "accepts ") {
		return ExitInput
	}
	switch drivers.ClassOf(err) {
	case drivers.ClassInput, drivers.ClassSecurity:
		return ExitInput
	}
	return ExitHarness
}

// sig is the signal that interrupted the run (0: none).
var sig atomic.Int32

// nothingToClean is true while virtcert only reads and checks its input
// (plan, flags, waivers, keys): a signal then exits at once.
var nothingToClean atomic.Bool

// currentLabel is the running run's label, for the forced-exit message.
var currentLabel atomic.Value

// ForceAfter bounds the orderly shutdown after the first signal: checks are
// cancelled and guests destroyed within it, or the process exits anyway.
const ForceAfter = 90 * time.Second

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		first := <-ch
		code := ExitSIGINT
		if first == syscall.SIGTERM {
			code = ExitSIGTERM
		}
		sig.Store(int32(code))
		if nothingToClean.Load() {
			// Loading and checking input: nothing exists yet to clean up,
			// and that phase need not watch ctx (a stalled read of the
			// plan or a file it names); leave at once.
			fmt.Fprintf(os.Stderr, "virtcert: %s: interrupted before the run started; nothing to clean up\n", sigName(first))
			os.Exit(code)
		}
		fmt.Fprintf(os.Stderr, "virtcert: %s: cancelling checks and destroying guests (send it again to exit at once)\n", sigName(first))
		cancel()
		select {
		case <-ch:
		case <-time.After(ForceAfter):
			fmt.Fprintf(os.Stderr, "virtcert: cleanup did not finish within %s\n", ForceAfter)
		}
		if l, _ := currentLabel.Load().(string); l != "" {
			fmt.Fprintf(os.Stderr, "virtcert: forced exit; guests of run %s may remain: remove them with `virtcert sweep --run %s --plan PLAN`\n", l, l)
		} else {
			fmt.Fprintln(os.Stderr, "virtcert: forced exit")
		}
		os.Exit(code)
	}()

	root := newRoot()
	err := root.ExecuteContext(ctx)
	code := ExitCertified
	if err != nil {
		code = codeFor(err)
		var ee *exitError
		var pe plan.Errors
		switch {
		case errors.As(err, &pe):
			// Every problem of a plan or the flags, one a line.
			for _, e := range pe {
				fmt.Fprintln(os.Stderr, "virtcert: "+oneLine(e.Error()))
			}
		case !errors.As(err, &ee) || ee.err.Error() != "":
			fmt.Fprintln(os.Stderr, "virtcert: "+oneLine(err.Error()))
		}
	}
	if s := sig.Load(); s != 0 && (code == ExitCertified || code == ExitHarness || code == ExitFailed) {
		code = int(s)
	}
	os.Exit(code)
}

func sigName(s os.Signal) string {
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

// oneLine keeps error output to one clean line.
func oneLine(s string) string {
	s = reports.Clean(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "virtcert",
		Short:         "Certify guest images on hypervisor hosts",
		Long:          "virtcert provisions guests from images on hypervisor hosts, runs certification checks over SSH or WinRM, and writes JUnit, HTML and JSON reports. See cmd/virtcert/USAGE.md.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.Version = getVersion() // --version, printed by the template below
	root.SetVersionTemplate(`{{with .Annotations}}{{index . "version"}}{{end}}`)
	root.Annotations = map[string]string{"version": versionText(buildinfo.Get())}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return exitf(ExitInput, "%v (see %s --help)", err, c.CommandPath())
	})
	root.AddCommand(newRun(), newChecks(), newSweep(), newVersion(), newReport(), newProfiles(), newPlan(), newImage())
	// Unknown commands and bad arguments are usage errors.
	for _, c := range root.Commands() {
		wrapArgs(c)
		registerCompletions(c)
	}
	return root
}

func wrapArgs(c *cobra.Command) {
	if c.Args != nil {
		inner := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := inner(cmd, args); err != nil {
				return exitf(ExitInput, "%v", err)
			}
			return nil
		}
	}
	for _, s := range c.Commands() {
		wrapArgs(s)
	}
}
