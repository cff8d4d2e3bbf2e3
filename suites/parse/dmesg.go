package parse

import (
	"regexp"
	"strconv"
	"strings"
)

// DmesgLine is one kernel log line.
type DmesgLine struct {
	// Time is seconds since boot from the "[   1.234567]" prefix, -1 when
	// the line has none (dmesg -t, or a console without timestamps).
	Time float64
	Text string
	Raw  string
}

var dmesgPrefix = regexp.MustCompile(`^\s*(?:<\d+>)?\[\s*(\d+\.\d+)\]\s?`)

// Dmesg parses `dmesg` output (also serial console text) into lines.
func Dmesg(out string) []DmesgLine {
	var ls []DmesgLine
	for _, raw := range strings.Split(out, "\n") {
		raw = strings.TrimRight(raw, "\r")
		if strings.TrimSpace(raw) == "" {
			continue
		}
		l := DmesgLine{Time: -1, Text: raw, Raw: raw}
		if m := dmesgPrefix.FindStringSubmatchIndex(raw); m != nil {
			if f, err := strconv.ParseFloat(raw[m[2]:m[3]], 64); err == nil {
				l.Time = f
			}
			l.Text = raw[m[1]:]
		}
		ls = append(ls, l)
	}
	return ls
}

var hvDetected = regexp.MustCompile(`Hypervisor detected: (.+)$`)

// HypervisorDetected returns the vendor in "Hypervisor detected: KVM"
// (arch/x86/kernel/cpu/hypervisor.c), or "".
func HypervisorDetected(ls []DmesgLine) string {
	for _, l := range ls {
		if m := hvDetected.FindStringSubmatch(l.Text); m != nil {
			return strings.TrimSpace(m[1])
		}
	}
	return ""
}

var vmbusVersion = regexp.MustCompile(`Vmbus version:?\s*(\d+\.\d+)`)

// VMBusVersion returns the negotiated version from hv_vmbus's
// "hv_vmbus: Vmbus version:5.3" line, or "".
func VMBusVersion(ls []DmesgLine) string {
	for _, l := range ls {
		if m := vmbusVersion.FindStringSubmatch(l.Text); m != nil {
			return m[1]
		}
	}
	return ""
}

var kvmMSRs = regexp.MustCompile(`kvm-clock: Using msrs ([0-9a-fA-F]+) and ([0-9a-fA-F]+)`)

// KVMClockMSRs returns the two MSRs in "kvm-clock: Using msrs 4b564d01 and
// 4b564d00" (arch/x86/kernel/kvmclock.c), or nil.
func KVMClockMSRs(ls []DmesgLine) []string {
	for _, l := range ls {
		if m := kvmMSRs.FindStringSubmatch(l.Text); m != nil {
			return []string{strings.ToLower(m[1]), strings.ToLower(m[2])}
		}
	}
	return nil
}
