package reports

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// ansiRE matches ANSI/VT escape sequences: CSI (ESC [ ... final), OSC
// (ESC ] ... BEL or ESC \), and the other escapes (ESC ( B, ESC c, ESC 7).
// Guests print them in console logs and command output; they are noise in
// every report format and a raw ESC makes XML invalid.
var ansiRE = regexp.MustCompile(`\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -/]*[0-~]|\x9b[0-?]*[ -/]*[@-~]`)

// Clean makes a string that came from a guest or host safe to put in any
// report: ANSI escape sequences are removed, invalid UTF-8 is replaced,
// and control characters other than tab and newline are dropped (a
// carriage return becomes a newline unless it precedes one). The result
// is always valid XML 1.0 character data.
func Clean(s string) string {
	if s == "" {
		return s
	}
	if strings.IndexByte(s, 0x1b) >= 0 || strings.Contains(s, "\u009b") {
		s = ansiRE.ReplaceAllString(s, "")
	}
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\t' && c != '\n' || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune('\uFFFD')
		case r == '\r':
			if i < len(s) && s[i] == '\n' {
				continue
			}
			b.WriteByte('\n')
		case r == '\t' || r == '\n':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			// C0/C1 controls: invalid in XML 1.0 or meaningless in a report.
		case r == 0xFFFE || r == 0xFFFF || (r >= 0xD800 && r <= 0xDFFF):
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// StatusRank orders statuses worst first: FAIL, ERROR, WAIVED, SKIP, N/A,
// PASS.
// Reports list failures first with it.
func StatusRank(s Status) int {
	switch s {
	case Fail:
		return 0
	case Error:
		return 1
	case Waived:
		return 2
	case Skip:
		return 3
	case NA:
		return 4
	case Pass:
		return 5
	}
	return 6
}

// Statuses lists every status in StatusRank order.
var Statuses = []Status{Fail, Error, Waived, Skip, NA, Pass}
