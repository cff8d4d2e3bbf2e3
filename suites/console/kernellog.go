package console

import (
	"strings"

	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/parse"
)

// rcMark ends each kernel-log section with the reader's exit status, so a
// log that could not be read is told apart from an empty one.
const rcMark = "vc-rc="

// ProbeKernelLog reads the guest's own kernel log over the transport: the
// ring buffer (dmesg), and the journal's kernel messages of this boot
// where systemd-journald runs (it keeps what the ring buffer dropped).
var ProbeKernelLog = suites.Sections("kernel-log",
	[2]string{"dmesg", `$S dmesg; echo "` + rcMark + `$?"`},
	[2]string{"journal", `if command -v journalctl >/dev/null 2>&1 && [ -d /run/systemd/journal ]; then ` +
		`$S journalctl -k -b --no-pager -q; echo "` + rcMark + `$?"; else echo '` + rcMark + `absent'; fi`},
)

// KernelLog is one source of the kernel log as read from the guest.
type KernelLog struct {
	Source string // "dmesg", "journalctl -k -b"
	Text   string
	// Unread says why the source could not be read ("" when it was).
	Unread string
}

// ParseKernelLog splits ProbeKernelLog output into its sources. A journal
// that is absent (no systemd-journald) is left out, not reported unread.
func ParseKernelLog(out string) []KernelLog {
	s := parse.Sections(out)
	var logs []KernelLog
	for _, src := range []struct{ key, name string }{{"dmesg", "dmesg"}, {"journal", "journalctl -k -b"}} {
		text, rc := splitRC(s[src.key])
		switch rc {
		case "absent":
			continue
		case "0":
			logs = append(logs, KernelLog{Source: src.name, Text: text})
		case "":
			logs = append(logs, KernelLog{Source: src.name, Unread: "no exit status in the output (cut off?): " + excerpt(text)})
		default:
			logs = append(logs, KernelLog{Source: src.name, Unread: "exit " + rc + ": " + excerpt(text)})
		}
	}
	return logs
}

// splitRC removes the trailing rc line and returns the text and status.
func splitRC(sec string) (string, string) {
	sec = strings.TrimRight(sec, "\n")
	i := strings.LastIndex(sec, "\n")
	last := sec[i+1:]
	if !strings.HasPrefix(last, rcMark) {
		return sec, ""
	}
	if i < 0 {
		return "", strings.TrimPrefix(last, rcMark)
	}
	return sec[:i], strings.TrimPrefix(last, rcMark)
}

func excerpt(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	if s == "" {
		return "no output"
	}
	return s
}
