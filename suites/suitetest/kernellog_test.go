package suitetest_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites/suitetest"
)

// TestKernelLogScanned: console.clean reads the guest's own kernel log
// over the transport, always, and the serial console in addition where
// the host captures it (issue 15). A call trace only the kernel log shows
// FAILs, with no serial console (the existing driver) and with a clean
// one; a clean kernel log PASSes without a serial console (the old code
// SKIPped both: it read only the serial console).
func TestKernelLogScanned(t *testing.T) {
	noConsole := drivers.Errorf(drivers.ClassHost, "console", "%w", drivers.ErrUnsupported)
	for _, c := range []struct {
		name, platform, over, console string
		consoleErr                    error
		want                          reports.Status
		reason                        string // substring of the reason
		evidence                      string // substring of the evidence
	}{
		{"existing, clean kernel log", "kvm-tcg", "", "", noConsole, reports.Pass, "", "serial console exp=\"no bad line\" act=\"not judged: the host driver captures no serial console"},
		{"existing, call trace in dmesg", "kvm-tcg", "console/faulty-kernel-trace.txt", "", noConsole, reports.Fail, "kernel log (dmesg) line", "Call Trace:"},
		{"clean console, call trace in dmesg and journal", "kvm", "console/faulty-kernel-trace.txt", "healthy.log", nil, reports.Fail, "kernel log (dmesg) line", "kernel log (journalctl -k -b) line"},
		{"console capture broke, clean kernel log", "kvm", "", "", errors.New("virDomainOpenConsole: internal error"), reports.Pass, "", "not judged: the host could not read it"},
		{"console panic, clean kernel log", "kvm", "", "faulty-panic.log", nil, reports.Fail, "console line", ""},
		// A panicked guest stops answering: the kernel log cannot be read,
		// the serial console still shows the panic.
		{"transport dead, console panic", "kvm", "-", "faulty-panic.log", nil, reports.Fail, "console line", "kernel log exp=\"no bad line\" act=\"not judged: could not be read over the guest transport"},
		{"existing, dmesg refused, no journal", "kvm-tcg", "console/unreadable-kernel-log.txt", "", noConsole, reports.Skip, "nothing judged: kernel log (dmesg): could not be read: exit 1: dmesg: read kernel buffer failed", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			root, err := suitetest.Root()
			if err != nil {
				t.Fatal(err)
			}
			var over []string
			if c.over != "" && c.over != "-" {
				over = append(over, c.over)
			}
			x, err := suitetest.Platform(root, c.platform, over...)
			if c.over == "-" { // no kernel-log record: the transport fails it
				x, err = suitetest.Load(filepath.Join(root, c.platform, "clock", "healthy.txt"))
			}
			if err != nil {
				t.Fatal(err)
			}
			g := &suitetest.Guest{GuestName: "t", ConsoleErr: c.consoleErr}
			if c.console != "" {
				if g.ConsoleLog, err = suitetest.ReadConsole(root, c.platform, c.console); err != nil {
					t.Fatal(err)
				}
			}
			tg, err := suitetest.Target(c.platform, x, g)
			if err != nil {
				t.Fatal(err)
			}
			r, err := suitetest.Execute("console.clean", tg)
			if err != nil {
				t.Fatal(err)
			}
			d := suitetest.Describe(r)
			if r.Status != c.want || !strings.Contains(r.Reason, c.reason) || !strings.Contains(d, c.evidence) {
				t.Fatalf("want %s (reason %q, evidence %q), got\n%s", c.want, c.reason, c.evidence, d)
			}
		})
	}
}
