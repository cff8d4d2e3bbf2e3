package reports

import (
	"testing"
	"time"
)

// TestNADoesNotChangeVerdicts: turning every SKIP of "does not apply"
// into N/A leaves each verdict and its reason as it was.
func TestNADoesNotChangeVerdicts(t *testing.T) {
	mk := func(sts ...Status) *Target {
		tg := &Target{ID: "h/i", Finished: time.Now()}
		for _, s := range sts {
			tg.Results = append(tg.Results, &Result{Status: s})
		}
		return tg
	}
	for _, sts := range [][]Status{{Pass, Skip}, {Skip}, {Fail, Skip}, {Error, Skip}, {Waived, Skip}, {Pass, Waived, Skip, Skip}} {
		withSkip := mk(sts...)
		na := make([]Status, len(sts))
		for i, s := range sts {
			na[i] = s
			if s == Skip {
				na[i] = NA
			}
		}
		withNA := mk(na...)
		if a, b := withSkip.Verdict(true), withNA.Verdict(true); a != b {
			t.Errorf("%v: verdict %s with SKIP, %s with N/A", sts, a, b)
		}
		if a, b := withSkip.NothingTested(true), withNA.NothingTested(true); a != b {
			t.Errorf("%v: nothing tested %v with SKIP, %v with N/A", sts, a, b)
		}
	}
	if got := (Counts{Pass: 39, Skip: 2, NA: 8}).String(); got != "2 skip, 8 n/a, 39 pass" {
		t.Errorf("Counts.String = %q", got)
	}
}
