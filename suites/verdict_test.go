package suites

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/reports"
)

// TestJudgeNotJudged: a step the host cannot supply a value for is
// evidence without an OK mark; the rest of the check still judges, and a
// check with nothing judged at all SKIPs with the reasons.
func TestJudgeNotJudged(t *testing.T) {
	exec := func(v Verdict) *reports.Result {
		c := Check{ID: "test.judge", Area: "test", Title: "t", Timeout: time.Second, Run: func(t *T) { t.Judge(v) }}
		return Execute(context.Background(), c, &Target{})
	}
	var mixed Verdict
	mixed.Add("bound", true, "bound", "bound", "", "")
	mixed.NotJudged("memory", "80%..100%", "host driver lacks capability: RunningConfig", "ratio")
	r := exec(mixed)
	if r.Status != reports.Pass || len(r.Evidence) != 2 || r.Evidence[1].OK != nil || !strings.Contains(r.Evidence[1].Actual, "not judged: host driver lacks") {
		t.Errorf("mixed: %s %q %+v", r.Status, r.Reason, r.Evidence)
	}
	mixed.Add("other", false, "x", "y", "", "")
	if r := exec(mixed); r.Status != reports.Fail || mixed.Failures()[0] != "other: y" {
		t.Errorf("a failed item next to a not-judged one: %s %q", r.Status, r.Reason)
	}
	var none Verdict
	none.NotJudged("memory", "80%..100%", "the host cannot say", "ratio")
	if r := exec(none); r.Status != reports.Skip || !strings.Contains(r.Reason, "nothing judged: memory: the host cannot say") {
		t.Errorf("nothing judged: %s %q", r.Status, r.Reason)
	}
}

// TestJudgeUndecided: a measurement that cannot tell PASS from FAIL is an
// ERROR with its reason, its items kept as evidence; an item that failed
// outright beside it still FAILs the check.
func TestJudgeUndecided(t *testing.T) {
	exec := func(v Verdict) *reports.Result {
		c := Check{ID: "test.judge", Area: "test", Title: "t", Timeout: time.Second, Run: func(t *T) { t.Judge(v) }}
		return Execute(context.Background(), c, &Target{})
	}
	var v Verdict
	v.NotJudged("rate", "within ±100 ppm", "+120 ppm ± 50 ppm", "max_ppm")
	v.Undecided = "rate +120 ppm ± 50 ppm straddles ±100 ppm"
	r := exec(v)
	if r.Status != reports.Error || !strings.Contains(r.Reason, "measurement undecided: rate +120") || len(r.Evidence) != 1 {
		t.Errorf("undecided: %s %q %+v", r.Status, r.Reason, r.Evidence)
	}
	v.Add("other", false, "x", "y", "", "")
	if r := exec(v); r.Status != reports.Fail {
		t.Errorf("undecided beside a failed item: %s %q, want FAIL", r.Status, r.Reason)
	}
}
