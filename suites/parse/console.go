package parse

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ConsolePattern is one class of bad console line.
type ConsolePattern struct {
	Name string
	Re   *regexp.Regexp
}

// ConsolePatterns are what a clean console must not show (kola's
// console checks and CHECKS.md "clean boot console").
var ConsolePatterns = []ConsolePattern{
	{"kernel panic", regexp.MustCompile(`Kernel panic - not syncing`)},
	{"oops", regexp.MustCompile(`(?:^|\s)Oops(?::|\s*-)|BUG: unable to handle`)},
	{"soft lockup", regexp.MustCompile(`BUG: soft lockup`)},
	{"hard lockup", regexp.MustCompile(`Watchdog detected hard LOCKUP`)},
	{"hung task", regexp.MustCompile(`blocked for more than \d+ seconds`)},
	{"call trace", regexp.MustCompile(`Call Trace:`)},
	{"warning", regexp.MustCompile(`WARNING: CPU: \d+`)},
	{"emergency mode", regexp.MustCompile(`(?i)emergency mode`)},
	{"I/O error", regexp.MustCompile(`rejecting I/O to offline device|blk_update_request: I/O error|I/O error, dev \S+`)},
	{"out of memory", regexp.MustCompile(`Out of memory|oom-kill`)},
	{"general protection fault", regexp.MustCompile(`general protection fault`)},
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]`)

// Finding is one bad console line.
type Finding struct {
	Line    int // 1-based
	Pattern string
	Text    string
	// Allowed is set when an unexpired allow-list entry hides the line.
	Allowed *AllowEntry
	// Expired lists expired entries that matched: they no longer hide it.
	Expired []*AllowEntry
}

// AllowEntry is one console allow-list entry. Every entry carries a reason
// and an expiry; an expired entry stops hiding its line.
type AllowEntry struct {
	Pattern string    `yaml:"pattern"` // a regular expression over the line
	Reason  string    `yaml:"reason"`
	Expires time.Time `yaml:"-"`
	Tracker string    `yaml:"tracker,omitempty"`
	// ExpiresRaw is the YAML date (YYYY-MM-DD).
	ExpiresRaw string `yaml:"expires"`
	re         *regexp.Regexp
}

// AllowList is the console allow-list file.
type AllowList struct {
	Allow []*AllowEntry `yaml:"allow"`
}

// ParseAllowList decodes an allow-list strictly: every entry needs a
// pattern that compiles, a reason and an expiry date.
func ParseAllowList(b []byte, source string) (*AllowList, error) {
	var al AllowList
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&al); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("console allow-list %s: %w", source, err)
	}
	for i, e := range al.Allow {
		if e == nil {
			return nil, fmt.Errorf("console allow-list %s: entry %d is empty", source, i+1)
		}
		if e.Pattern == "" || strings.TrimSpace(e.Reason) == "" || e.ExpiresRaw == "" {
			return nil, fmt.Errorf("console allow-list %s: entry %d needs pattern, reason and expires", source, i+1)
		}
		re, err := regexp.Compile(e.Pattern)
		if err != nil {
			return nil, fmt.Errorf("console allow-list %s: entry %d: pattern: %w", source, i+1, err)
		}
		e.re = re
		t, err := time.Parse("2006-01-02", e.ExpiresRaw)
		if err != nil {
			return nil, fmt.Errorf("console allow-list %s: entry %d: expires %q is not YYYY-MM-DD", source, i+1, e.ExpiresRaw)
		}
		// An entry is valid through the whole of its expiry day (UTC).
		e.Expires = t.Add(24 * time.Hour)
	}
	return &al, nil
}

// Match reports whether the entry matches a line.
func (e *AllowEntry) Match(line string) bool { return e.re != nil && e.re.MatchString(line) }

// CleanConsole strips ANSI escapes and carriage returns from console text.
func CleanConsole(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = ansi.ReplaceAllString(s, "")
	// An escape sequence cut off by the end of the log (or garbage) leaves
	// a bare ESC: drop it too, so no escape reaches a report.
	s = strings.ReplaceAll(s, "\x1b", "")
	return strings.ReplaceAll(s, "\r", "")
}

// ScanConsole finds bad lines in console text, applying the allow-list
// (may be nil) as of now.
func ScanConsole(text string, al *AllowList, now time.Time) []Finding {
	var out []Finding
	for i, l := range strings.Split(text, "\n") {
		for _, p := range ConsolePatterns {
			if !p.Re.MatchString(l) {
				continue
			}
			f := Finding{Line: i + 1, Pattern: p.Name, Text: strings.TrimSpace(l)}
			if al != nil {
				for _, e := range al.Allow {
					if !e.Match(l) {
						continue
					}
					if now.Before(e.Expires) {
						f.Allowed = e
						break
					}
					f.Expired = append(f.Expired, e)
				}
			}
			out = append(out, f)
			break
		}
	}
	return out
}
