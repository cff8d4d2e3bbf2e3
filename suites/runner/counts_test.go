package runner

import (
	"context"
	"maps"
	"sync"
	"testing"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/progress"
)

// doneSink records the tally each target's Done line shows.
type doneSink struct {
	mu   sync.Mutex
	done map[string]reports.Counts
}

type doneTarget struct {
	s  *doneSink
	id string
}

func (s *doneSink) Target(id string) progress.TargetProgress { return doneTarget{s, id} }
func (s *doneSink) Close()                                   {}
func (doneTarget) Phase(string)                              {}
func (doneTarget) Checks(int)                                {}
func (doneTarget) CheckDone(string, reports.Status)          {}
func (d doneTarget) Done(_ reports.Verdict, c reports.Counts) {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	d.s.done[d.id] = c
}

// TestDoneCountsMatchTable: the per-target "done:" line and the summary
// table count the same results: both take the target's Count(), N/A
// (recorded without running) and PASS/FAIL/SKIP alike. Before, the done
// line tallied only the checks that ran ("2 skip" against "skip 10").
func TestDoneCountsMatchTable(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	o := opts(t, h, d, okCheck, failCheck, hypervOnly)
	sink := &doneSink{done: map[string]reports.Counts{}}
	o.Sink = sink
	run, _, err := runP(context.Background(), testPlan(t, "peer: none\n"), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range run.Targets {
		got, want := sink.done[tg.ID], tg.Count()
		if !maps.Equal(got, want) {
			t.Errorf("%s: done line counts %v, the table %v", tg.ID, got, want)
		}
		if want[reports.NA] != 1 || want[reports.Skip] != 0 {
			t.Errorf("%s: hyperv-only check on a KVM host: %v, want 1 n/a and no skip", tg.ID, want)
		}
	}
}
