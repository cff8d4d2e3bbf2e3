package resolve

import (
	"fmt"
	"path"
	"slices"

	"github.com/virtcert/virtcert/suites"
)

// Kinds of left-out checks (LeftOut.Kind). The reason texts start with
// the kind, so "n/a: not for linux guests (windows only)" reads the same
// in a dry run, the run's progress and the reports.
const (
	// KindNotSelected: the plan or the flags leave the check out.
	KindNotSelected = "not selected"
	// KindNA: the check does not apply to the target's hypervisor or OS.
	KindNA = "n/a"
	// KindSkip: selected and applicable, but the target cannot run it
	// (a capability its driver lacks); recorded as SKIP.
	KindSkip = "skip"
)

// NotFor is the reason c does not apply to a guest of guestOS on a host
// reporting one of hypervisors ("" or nil: not known, not judged), or ""
// when it may apply. The one wording of "n/a" for every caller (the
// resolver, the runner, the reports):
//
//	n/a: not for linux guests (windows only)
//	n/a: not for kvm/qemu guests (hyperv only)
//	n/a: not for guests of an unknown hypervisor (hyperv only)
func NotFor(c suites.Check, hypervisors []string, guestOS string) string {
	if guestOS != "" && len(c.OS) > 0 && !slices.Contains(c.OS, guestOS) {
		return KindNA + ": " + suites.NotFor(guestOS+" guests", c.OS)
	}
	hv := slices.DeleteFunc(slices.Clone(hypervisors), func(h string) bool { return h == "" })
	if len(hv) > 0 && len(c.Hypervisors) > 0 && !slices.ContainsFunc(hv, func(h string) bool { return slices.Contains(c.Hypervisors, h) }) {
		return KindNA + ": " + suites.NotFor(suites.GuestsOn(hv...), c.Hypervisors)
	}
	return ""
}

// Lacks is the reason a target cannot run c because its driver lacks a
// capability c needs, or "". The peer and the vcprobe helper are not
// driver capabilities: the runner decides those once the guests exist.
func Lacks(c suites.Check, driver string, caps []string) string {
	for _, n := range c.Needs {
		if n == suites.NeedPeer || n == suites.NeedHelper {
			continue
		}
		if !slices.Contains(caps, n) {
			return fmt.Sprintf("%s: needs %s, which the %s driver lacks", KindSkip, n, driver)
		}
	}
	return ""
}

// Selects reports whether one selection entry names c: its ID, its area,
// or a glob (path.Match) over its ID ("clock.*", "*.offset").
func Selects(sel string, c suites.Check) bool {
	if sel == c.ID || sel == c.Area {
		return true
	}
	ok, err := path.Match(sel, c.ID)
	return err == nil && ok
}

// notSelected is the reason a selector leaves c out.
func notSelected(why string, args ...any) LeftOut {
	return LeftOut{Kind: KindNotSelected, Reason: KindNotSelected + ": " + fmt.Sprintf(why, args...)}
}
