// Package console holds console.clean: the guest's own kernel log (read
// over the guest transport) and its serial console (as the host driver
// captured it, where it does), scanned for panics, oopses, call traces,
// soft lockups, emergency mode, I/O errors and OOM kills. Allow-list entries
// carry a reason and an expiry date; an expired entry stops hiding its line
// and the evidence says so.
package console

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/parse"
)

func init() {
	suites.Register(suites.Check{
		ID: "console.clean", Area: "console", Priority: 1,
		Title: "Kernel log and serial console show no panic, oops or I/O error",
		Doc: "Reads the guest's own kernel log over the guest transport, always (dmesg, and `journalctl -k -b` " +
			"where systemd-journald runs), and, in addition, the serial console where the host driver captures " +
			"it (Guest.Console), and scans each for: Kernel panic, Oops, BUG: soft lockup, hard lockup, hung " +
			"tasks, Call Trace, WARNING: CPU:, emergency mode, I/O errors, Out of memory, general protection " +
			"faults. Lines matched by an unexpired allow-list entry (plan console_allow, default " +
			"fixtures/console-allow.yaml; each entry has a reason and an expiry) are reported but do not fail " +
			"the check. A source that cannot be read (no serial console on an existing machine, dmesg refused " +
			"without sudo) is recorded as not judged with the reason; the check SKIPs only when no source could be read.",
		OS: []string{"linux"}, Timeout: 2 * time.Minute, Run: run, Reads: []string{ProbeKernelLog},
	})
}

// Judge turns serial console findings into a verdict. allowSource names
// the allow-list.
func Judge(findings []parse.Finding, lines int, allowSource string) suites.Verdict {
	return JudgeLog("console", findings, lines, allowSource)
}

// JudgeLog turns the findings in one log (what: "console", "kernel log
// (dmesg)") into a verdict.
func JudgeLog(what string, findings []parse.Finding, lines int, allowSource string) suites.Verdict {
	var v suites.Verdict
	bad := 0
	for _, f := range findings {
		step := fmt.Sprintf("%s line %d (%s)", what, f.Line, f.Pattern)
		switch {
		case f.Allowed != nil:
			v.Add(step, true, "no such line, or an unexpired allow-list entry",
				fmt.Sprintf("%q allowed until %s by %q: %s", f.Text, f.Allowed.ExpiresRaw, f.Allowed.Pattern, f.Allowed.Reason), allowSource, "")
		default:
			bad++
			act := fmt.Sprintf("%q", f.Text)
			for _, e := range f.Expired {
				act += fmt.Sprintf("; allow-list entry %q expired on %s and no longer hides it (reason was: %s)", e.Pattern, e.ExpiresRaw, e.Reason)
			}
			v.Add(step, false, "no such line", act, allowSource, "")
		}
	}
	v.Add(fmt.Sprintf("unexplained bad lines in %d %s lines", lines, what), bad == 0, "0", fmt.Sprint(bad), allowSource, "")
	return v
}

// LoadAllow reads an allow-list file ("" = none).
func LoadAllow(path string) (*parse.AllowList, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parse.ParseAllowList(b, path)
}

func run(t *suites.T) {
	al, err := LoadAllow(t.Target.ConsoleAllow)
	if err != nil {
		t.Errorf("console allow-list: %v", err)
	}
	src := t.Target.ConsoleAllow
	if src == "" {
		src = "no allow-list"
	}
	var v suites.Verdict
	// The guest's own kernel log, always: the only record of a panic or a
	// call trace where the host captures no serial console.
	out, why := readKernelLog(t)
	if why != "" {
		v.NotJudged("kernel log", "no bad line", why, "")
	}
	for _, kl := range ParseKernelLog(out) {
		what := "kernel log (" + kl.Source + ")"
		if kl.Unread != "" {
			v.NotJudged(what, "no bad line", "could not be read: "+kl.Unread, "")
			continue
		}
		add(&v, scan(t, what, "guest: "+kl.Source, []byte(kl.Text), al, src))
	}
	// The serial console, in addition, where the host captures it.
	start := time.Now()
	raw, err := t.Target.Guest.Console(t.Context())
	switch {
	case errors.Is(err, drivers.ErrUnsupported):
		v.NotJudged("serial console", "no bad line", "the host driver captures no serial console: "+err.Error(), "")
	case err != nil:
		t.Evidence(reports.Evidence{Step: "host: read serial console", Command: "host: Guest.Console", Output: err.Error(), Duration: time.Since(start)})
		v.NotJudged("serial console", "no bad line", "the host could not read it: "+err.Error(), "")
	default:
		add(&v, scan(t, "console", "host: Guest.Console", raw, al, src))
	}
	t.Judge(v)
}

// readKernelLog runs ProbeKernelLog. A transport that fails (a guest that
// panicked stops answering) is not the end of the check: the reason is
// returned, and the serial console is still judged.
func readKernelLog(t *suites.T) (string, string) {
	if t.Target.OS == nil {
		return "", "no guest transport to read it over"
	}
	r, note, err := t.Read(ProbeKernelLog)
	ev := reports.Evidence{Step: "read the kernel log (dmesg; journalctl -k -b where journald runs)", Command: ProbeKernelLog, Duration: r.Duration, Gathered: note}
	if err != nil {
		ev.Output = "transport: " + err.Error()
		t.Evidence(ev)
		return "", "could not be read over the guest transport: " + err.Error()
	}
	exit := r.Exit
	ev.Exit, ev.Output = &exit, fmt.Sprintf("%d bytes", len(r.Stdout))
	t.Evidence(ev)
	return string(r.Stdout), ""
}

// scan scans one log, records what was read as evidence and judges it.
func scan(t *suites.T, what, command string, raw []byte, al *parse.AllowList, src string) suites.Verdict {
	text := parse.CleanConsole(raw)
	findings := parse.ScanConsole(text, al, time.Now())
	var ex strings.Builder
	for _, f := range findings {
		fmt.Fprintf(&ex, "%6d: %s\n", f.Line, f.Text)
	}
	lines := strings.Count(text, "\n") + 1
	t.Evidence(reports.Evidence{Step: "scan the " + what, Command: command,
		Output: fmt.Sprintf("%d bytes, %d lines, %d matching lines\n%s", len(raw), lines, len(findings), ex.String())})
	return JudgeLog(what, findings, lines, src)
}

func add(v *suites.Verdict, x suites.Verdict) { v.Items = append(v.Items, x.Items...) }
