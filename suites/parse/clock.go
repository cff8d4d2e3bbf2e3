package parse

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// EpochSeconds parses `date -u +%s.%N` output. A date without
// nanosecond support prints "1732233600.N" or "1732233600.%N"; then only
// whole seconds are known and precise is false.
func EpochSeconds(out string) (t time.Time, precise bool, ok bool) {
	s := FirstLine(out)
	whole, frac, hasFrac := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || sec < 0 || sec > 1<<40 {
		return time.Time{}, false, false
	}
	if !hasFrac || frac == "" || strings.Trim(frac, "0123456789") != "" {
		return time.Unix(sec, 0), false, true
	}
	if len(frac) > 9 {
		frac = frac[:9]
	}
	frac += strings.Repeat("0", 9-len(frac))
	ns, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return time.Unix(sec, 0), false, true
	}
	return time.Unix(sec, ns), true, true
}

// Series parses one float per line (the /proc/uptime loop of the
// monotonic fallback: "12.34 45.67" lines, first field taken).
func Series(out string) []float64 {
	var xs []float64
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		xs = append(xs, v)
	}
	return xs
}

// Backwards counts the steps where a series decreases, and returns the
// largest decrease.
func Backwards(xs []float64) (n int, worst float64) {
	for i := 1; i < len(xs); i++ {
		if d := xs[i-1] - xs[i]; d > 0 {
			n++
			worst = math.Max(worst, d)
		}
	}
	return n, worst
}

var (
	// util-linux: "2026-11-21 23:45:12.123456+00:00"
	hwclockISO = regexp.MustCompile(`(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?([+-]\d{2}:?\d{2})?`)
	// busybox: "Sat Nov 21 23:45:12 2026  0.000000 seconds"
	hwclockBusybox = regexp.MustCompile(`[A-Z][a-z]{2} ([A-Z][a-z]{2})\s+(\d{1,2}) (\d{2}:\d{2}:\d{2}) (\d{4})`)
)

// RTCTime parses the RTC reading: /sys/class/rtc/rtc0/since_epoch (an
// integer), util-linux `hwclock -u -r`, or busybox `hwclock -u -r`. The
// RTC is read as UTC.
func RTCTime(out string) (time.Time, bool) {
	s := strings.TrimSpace(out)
	if n, err := strconv.ParseInt(FirstLine(s), 10, 64); err == nil && n > 0 && n < 1<<40 {
		return time.Unix(n, 0).UTC(), true
	}
	if m := hwclockISO.FindStringSubmatch(s); m != nil {
		layout, v := "2006-01-02 15:04:05", m[1]+" "+m[2]
		if m[3] != "" {
			layout += ".999999999"
			v += m[3]
		}
		t, err := time.Parse(layout, v)
		if err != nil {
			return time.Time{}, false
		}
		if m[4] != "" {
			z := strings.ReplaceAll(m[4], ":", "")
			if zt, err := time.Parse("-0700", z); err == nil {
				_, off := zt.Zone()
				t = t.Add(-time.Duration(off) * time.Second)
			}
		}
		return t.UTC(), true
	}
	if m := hwclockBusybox.FindStringSubmatch(s); m != nil {
		t, err := time.Parse("Jan 2 15:04:05 2006", m[1]+" "+m[2]+" "+m[3]+" "+m[4])
		if err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
