// Package console holds console.clean: the guest's serial console, as the
// host driver captured it, scanned for panics, oopses, call traces, soft
// lockups, emergency mode, I/O errors and OOM kills. Allow-list entries
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
		Title: "Serial console shows no panic, oops or I/O error",
		Doc: "Reads the serial console the host driver captured (Guest.Console) and scans it for: " +
			"Kernel panic, Oops, BUG: soft lockup, hard lockup, hung tasks, Call Trace, WARNING: CPU:, " +
			"emergency mode, I/O errors, Out of memory, general protection faults. Lines matched by an " +
			"unexpired allow-list entry (plan console_allow, default fixtures/console-allow.yaml; each " +
			"entry has a reason and an expiry) are reported but do not fail the check.",
		OS: []string{"linux"}, Timeout: time.Minute, Run: run,
	})
}

// Judge turns findings into a verdict. allowSource names the allow-list.
func Judge(findings []parse.Finding, lines int, allowSource string) suites.Verdict {
	var v suites.Verdict
	bad := 0
	for _, f := range findings {
		step := fmt.Sprintf("console line %d (%s)", f.Line, f.Pattern)
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
	v.Add(fmt.Sprintf("unexplained bad lines in %d console lines", lines), bad == 0, "0", fmt.Sprint(bad), allowSource, "")
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
	start := time.Now()
	raw, err := t.Target.Guest.Console(t.Context())
	if errors.Is(err, drivers.ErrUnsupported) {
		t.Skipf("host driver captures no serial console: %v", err)
	}
	if err != nil {
		t.Errorf("host: read console: %v", err)
	}
	al, err := LoadAllow(t.Target.ConsoleAllow)
	if err != nil {
		t.Errorf("console allow-list: %v", err)
	}
	src := t.Target.ConsoleAllow
	if src == "" {
		src = "no allow-list"
	}
	text := parse.CleanConsole(raw)
	findings := parse.ScanConsole(text, al, time.Now())
	var ex strings.Builder
	for _, f := range findings {
		fmt.Fprintf(&ex, "%6d: %s\n", f.Line, f.Text)
	}
	lines := strings.Count(text, "\n") + 1
	t.Evidence(reports.Evidence{Step: "host: read serial console and scan it", Command: "host: Guest.Console",
		Output: fmt.Sprintf("%d bytes, %d lines, %d matching lines\n%s", len(raw), lines, len(findings), ex.String()), Duration: time.Since(start)})
	t.Judge(Judge(findings, lines, src))
}
