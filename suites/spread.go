package suites

import (
	"fmt"
	"slices"
	"strings"
)

// Spread describes the rounds of one measurement: how many there were,
// their median, lowest and highest, and the range as a share of the
// median. A certification's figure is the median; the spread says how
// much to trust it.
func Spread(unit string, xs []float64) string {
	if len(xs) == 0 {
		return "no round succeeded"
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d round%s: median %.1f %s, min %.1f, max %.1f", len(s), plural(len(s)), med, unit, s[0], s[len(s)-1])
	if med > 0 {
		fmt.Fprintf(&b, ", spread %.1f%% of the median", 100*(s[len(s)-1]-s[0])/med)
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// AgreementOff is the evidence a check records when the measurement mode
// is off: which reference tool did not run, and how to ask for it.
func AgreementOff(tool string) string {
	return "tool agreement off: vcprobe's figures only; " + tool +
		" runs beside vcprobe in the measurement mode (`virtcert run --agreement`, or `agreement: true` in the plan)"
}
