// Package diag gathers a guest's diagnostics after a failure: one
// command per guest (a shell script returning delimited sections on
// Linux, the System event log on Windows), each section bounded in size
// and scrubbed of secrets before it is written anywhere.
package diag

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// MaxSection bounds each section; a longer one is cut with Truncated.
const MaxSection = 1 << 20

// Truncated ends a section that was cut at MaxSection bytes.
const Truncated = "\n[... truncated by virtcert at 1 MiB]\n"

// NotAvailable starts a section the guest could not provide.
const NotAvailable = "not available: "

// Section is one diagnostic: the file it is saved as and its content.
type Section struct {
	File string
	Data []byte
	// Cut is true when the guest had more than MaxSection bytes.
	Cut bool
}

// linuxSections are the script's sections in order: the file each is
// saved as, and the shell that prints it (constant text: each falls back
// to what a busybox guest has, or says why it is not available). The
// small, quick ones come first and the journal last: a guest that hangs
// mid-script (a stuck disk) still gives what came before the deadline.
var linuxSections = []struct{ file, sh string }{
	{"dmesg.txt", `$S dmesg 2>&1 || echo "not available: dmesg exited $?"`},
	{"ip-addr.txt", `if command -v ip >/dev/null 2>&1; then ip addr 2>&1; elif command -v ifconfig >/dev/null 2>&1; then ifconfig -a 2>&1; else echo "not available: neither ip nor ifconfig in the guest"; fi`},
	{"ip-route.txt", `if command -v ip >/dev/null 2>&1; then ip route 2>&1; elif [ -r /proc/net/route ]; then cat /proc/net/route; else echo "not available: neither ip nor /proc/net/route in the guest"; fi`},
	{"modules.txt", `if command -v lsmod >/dev/null 2>&1; then lsmod 2>&1; elif [ -r /proc/modules ]; then cat /proc/modules; else echo "not available: neither lsmod nor /proc/modules (a kernel without modules)"; fi`},
	{"block-devices.txt", `if command -v lsblk >/dev/null 2>&1; then lsblk 2>&1; elif [ -r /proc/partitions ]; then cat /proc/partitions; else echo "not available: neither lsblk nor /proc/partitions in the guest"; fi`},
	{"cloud-init.log", `f=/var/log/cloud-init.log; if [ -e $f ]; then $S cat $f; else echo "not available: no $f in the guest"; fi`},
	{"cloud-init-output.log", `f=/var/log/cloud-init-output.log; if [ -e $f ]; then $S cat $f; else echo "not available: no $f in the guest"; fi`},
	{"journal.txt", `if command -v journalctl >/dev/null 2>&1; then $S journalctl -b --no-pager 2>&1; else echo "not available: no journalctl in the guest (no systemd journal)"; fi`},
}

// marker starts a section in the script's output. The nonce (hex, made
// per collection) keeps a guest's own output from posing as a section.
func marker(nonce, file string) string { return "@@virtcert-diag " + nonce + " " + file + "@@" }

// WindowsFile is the file the System event log is saved as.
const WindowsFile = "system-events.txt"

// windowsCmd is the PowerShell command for Windows guests: the last 500
// System events, one property per line.
const windowsCmd = `Get-WinEvent -LogName System -MaxEvents 500 | Format-List | Out-String -Width 4096`

// Command is what runs in the guest: the command line, and how its
// output becomes sections (Split).
type Command struct {
	Cmd   string
	nonce string
}

// For is the command for a guest OS ("windows", else Linux). nonce must
// be hex (it is put in the script unquoted).
func For(os, nonce string) Command {
	if os == "windows" {
		return Command{Cmd: windowsCmd}
	}
	var b strings.Builder
	// lim prints at most MaxSection+1 bytes (one more shows the cut);
	// a head without -c (it exits at once) leaves the rest to cat.
	fmt.Fprintf(&b, "lim() { head -c %d 2>/dev/null || cat; }\n", MaxSection+1)
	// A login user other than root reads the kernel log, the journal and
	// the logs through passwordless sudo (the seed grants it), when it can.
	b.WriteString(`S=; if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then S="sudo -n"; fi` + "\n")
	for _, s := range linuxSections {
		fmt.Fprintf(&b, "echo '%s'\n( %s ) </dev/null 2>&1 | lim\n", marker(nonce, s.file), s.sh)
	}
	return Command{Cmd: b.String(), nonce: nonce}
}

// Split cuts the command's output into its sections, bounds each and
// scrubs it (Scrub). A section missing from the output (the command
// died early) is absent from the result. Only a marker line with this
// command's nonce and a known file name starts a section.
func (c Command) Split(out []byte) []Section {
	if c.nonce == "" {
		return []Section{bound(WindowsFile, out)}
	}
	type mark struct {
		file       string
		start, end int // the marker line's start, the body's start
	}
	var marks []mark
	for _, s := range linuxSections {
		m := []byte(marker(c.nonce, s.file) + "\n")
		if i := bytes.Index(out, m); i >= 0 {
			marks = append(marks, mark{s.file, i, i + len(m)})
		}
	}
	slices.SortFunc(marks, func(a, b mark) int { return a.start - b.start })
	var secs []Section
	for i, m := range marks {
		body := out[m.end:]
		if i+1 < len(marks) {
			body = out[m.end:marks[i+1].start]
		}
		secs = append(secs, bound(m.file, body))
	}
	return secs
}

// Files are the names of the sections the command asks for, in order.
func (c Command) Files() []string {
	if c.nonce == "" {
		return []string{WindowsFile}
	}
	var out []string
	for _, s := range linuxSections {
		out = append(out, s.file)
	}
	return out
}

// bound cuts b at MaxSection bytes (with the Truncated marker) and
// scrubs it.
func bound(file string, b []byte) Section {
	s := Section{File: file}
	if len(b) > MaxSection {
		b, s.Cut = b[:MaxSection], true
	}
	s.Data = Scrub(b)
	if s.Cut {
		s.Data = append(s.Data, Truncated...)
	}
	return s
}
