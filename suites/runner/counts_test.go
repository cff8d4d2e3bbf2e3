package runner

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/progress"
	"github.com/virtcert/virtcert/suites"
)

// doneSink records the tally each target's Done line shows.
type doneSink struct {
	mu      sync.Mutex
	done    map[string]reports.Counts
	checked map[string]reports.Counts // what CheckDone reported
	total   map[string]int            // what Checks announced
}

type doneTarget struct {
	s  *doneSink
	id string
}

func (s *doneSink) Target(id string) progress.TargetProgress { return doneTarget{s, id} }
func (s *doneSink) Close()                                   {}
func (doneTarget) Phase(string)                              {}
func (d doneTarget) Checks(n int) {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	if d.s.total != nil {
		d.s.total[d.id] = n
	}
}
func (d doneTarget) CheckDone(_ string, st reports.Status) {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	if d.s.checked != nil {
		if d.s.checked[d.id] == nil {
			d.s.checked[d.id] = reports.Counts{}
		}
		d.s.checked[d.id][st]++
	}
}
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

// TestProgressCountsEveryCheck: a check that cannot run (here: it needs
// the helper and the run has none) is reported to the progress like one
// that ran, so "check k/N" reaches N and the per-check lines agree with
// the done line (before, the SKIPs by need were silent: "check 1/2",
// then "done: (1 pass, 1 skip)").
func TestProgressCountsEveryCheck(t *testing.T) {
	probeCheck := suites.Check{ID: "disk.probe", Area: "disk", Title: "probe", Needs: []string{suites.NeedHelper}, Timeout: 5 * time.Second, Run: func(t *suites.T) {}}
	h, d := newFakeHost(), &fakeDial{}
	o := opts(t, h, d, okCheck, probeCheck)
	o.ProbePath = ""
	sink := &doneSink{done: map[string]reports.Counts{}, checked: map[string]reports.Counts{}, total: map[string]int{}}
	o.Sink = sink
	run, _, err := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"), o)
	if err != nil {
		t.Fatal(err)
	}
	tg := run.Targets[0]
	if got, want := sink.checked[tg.ID], tg.Count(); !maps.Equal(got, want) || sink.total[tg.ID] != 2 {
		t.Errorf("progress saw %v of %d checks, the target has %v", got, sink.total[tg.ID], want)
	}
}

// TestDoneForEveryTarget: a target that ends before provisioning (its
// host cannot be opened; every check N/A here) still gets its done line
// with its tally (before, the line logger printed none for it and the
// live view aborted its bar without a verdict).
func TestDoneForEveryTarget(t *testing.T) {
	for _, c := range []struct {
		name     string
		failOpen bool
		checks   []suites.Check
	}{
		{"host cannot be opened", true, []suites.Check{okCheck}},
		{"every check n/a", false, []suites.Check{hypervOnly}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, d := newFakeHost(), &fakeDial{}
			o := opts(t, h, d, c.checks...)
			if c.failOpen {
				o.Openers["libvirt"] = func(context.Context, string, drivers.OpenOptions) (drivers.Host, error) {
					return nil, drivers.Errorf(drivers.ClassHost, "open", "connection refused")
				}
			}
			sink := &doneSink{done: map[string]reports.Counts{}}
			o.Sink = sink
			run, _, err := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"), o)
			if err != nil {
				t.Fatal(err)
			}
			tg := run.Targets[0]
			got, ok := sink.done[tg.ID]
			if !ok || !maps.Equal(got, tg.Count()) || len(got) == 0 {
				t.Errorf("done line: %v (seen %v), the target has %v", got, ok, tg.Count())
			}
		})
	}
}
