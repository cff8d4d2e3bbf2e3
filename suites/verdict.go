package suites

import (
	"fmt"
	"strings"

	"github.com/virtcert/virtcert/reports"
)

// Item is one judged expectation, produced by a check's pure judge
// function from parsed guest output and profile values. Keeping judges pure
// (no T, no transport) lets them be unit-tested on recorded transcripts.
type Item struct {
	Step      string
	Expected  string
	Actual    string
	Tolerance string
	// Key is the profile key the expected value came from ("max_seconds"),
	// empty when the expectation is built into the check.
	Key string
	OK  bool
	// NotJudged, when set, says why this step was not judged (the host
	// cannot report the value it compares with): the item is evidence,
	// neither a PASS nor a FAIL.
	NotJudged string
}

// Verdict is what a judge returns: the items, and optionally a reason to
// SKIP instead (the guest lacks the tool the check reads, say).
type Verdict struct {
	Items []Item
	Skip  string
	// Undecided, when set, says why the measurement could not tell a
	// PASS from a FAIL (its uncertainty straddles the tolerance). Unless
	// an item failed outright, the check is an ERROR with that reason:
	// the harness could not measure finely enough, which says nothing
	// against the guest.
	Undecided string
}

// Add appends an item and returns v for chaining.
func (v *Verdict) Add(step string, ok bool, expected, actual, tolerance, key string) {
	v.Items = append(v.Items, Item{Step: step, OK: ok, Expected: expected, Actual: actual, Tolerance: tolerance, Key: key})
}

// NotJudged appends a step that could not be judged, with the reason.
func (v *Verdict) NotJudged(step, expected, why, key string) {
	v.Items = append(v.Items, Item{Step: step, Expected: expected, Key: key, NotJudged: why})
}

// Failed reports whether any item failed.
func (v Verdict) Failed() bool {
	for _, it := range v.Items {
		if !it.OK && it.NotJudged == "" {
			return true
		}
	}
	return false
}

// Failures lists the failed items' steps and actual values.
func (v Verdict) Failures() []string {
	var out []string
	for _, it := range v.Items {
		if !it.OK && it.NotJudged == "" {
			out = append(out, it.Step+": "+it.Actual)
		}
	}
	return out
}

// String renders the verdict for test failure messages.
func (v Verdict) String() string {
	var b strings.Builder
	if v.Skip != "" {
		fmt.Fprintf(&b, "SKIP: %s\n", v.Skip)
	}
	if v.Undecided != "" {
		fmt.Fprintf(&b, "UNDECIDED: %s\n", v.Undecided)
	}
	for _, it := range v.Items {
		if it.NotJudged != "" {
			fmt.Fprintf(&b, "[not judged] %s: %s\n", it.Step, it.NotJudged)
			continue
		}
		fmt.Fprintf(&b, "[ok=%v] %s: expected %s, got %s (tol %s, key %s)\n", it.OK, it.Step, it.Expected, it.Actual, it.Tolerance, it.Key)
	}
	return b.String()
}

// Judge records every item of v as evidence (expected vs actual, with the
// profile key) and FAILs the check on any failed item; a Skip stops the
// check with that reason. Items not judged are recorded with their reason
// (no OK mark); when every item is not judged the check SKIPs with those
// reasons. A verdict with no items at all is a harness bug (a check must
// never PASS without evidence), reported as ERROR; so is an Undecided
// verdict with no failed item.
func (t *T) Judge(v Verdict) {
	if v.Skip != "" {
		t.Skipf("%s", v.Skip)
	}
	if len(v.Items) == 0 {
		t.Errorf("check %s judged nothing: no evidence for a verdict", t.Check.ID)
	}
	var notJudged []string
	for _, it := range v.Items {
		e := reports.Evidence{Step: it.Step, Expected: it.Expected, Actual: it.Actual, Tolerance: it.Tolerance}
		if t.Target != nil && t.Target.Profile != nil {
			e.Profile = t.Target.Profile.Name + ":" + t.Check.ID
			if it.Key != "" {
				e.Profile += "." + it.Key
			}
		}
		if it.NotJudged != "" {
			e.Actual = "not judged: " + it.NotJudged
			t.Evidence(e)
			notJudged = append(notJudged, it.Step+": "+it.NotJudged)
			continue
		}
		ok := it.OK
		e.OK = &ok
		t.Evidence(e)
		if !ok {
			t.fail(fmt.Sprintf("%s: expected %s, got %s", it.Step, it.Expected, it.Actual))
		}
	}
	if v.Undecided != "" && !t.Failed() {
		t.Errorf("measurement undecided: %s", v.Undecided)
	}
	if len(notJudged) == len(v.Items) {
		t.Skipf("nothing judged: %s", strings.Join(notJudged, "; "))
	}
}

// Sections builds one shell script that prints several probes, each after
// a marker line "@@@ name", so many read-only probes share one session
// (LAB-NOTES: batching beats per-command process start under emulation).
// tag is a gather name; the script starts with ": vc=<tag>;" so recorded
// transcripts can be matched to it. Each probe's stderr is folded into its
// section. The names and commands must be constant text (no guest values).
// parse.Sections splits the output again.
func Sections(tag string, probes ...[2]string) string {
	var b strings.Builder
	b.WriteString(": vc=" + tag + "; ")
	b.WriteString(`S=; [ "$(id -u)" = 0 ] || S="sudo -n"; `)
	for _, p := range probes {
		fmt.Fprintf(&b, "echo '@@@ %s'; { %s; } 2>&1; ", p[0], p[1])
	}
	b.WriteString("true")
	return b.String()
}
