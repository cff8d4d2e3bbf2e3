package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
	_ "github.com/virtcert/virtcert/suites/all" // the catalog, to tell read-only checks
)

// catalogGoal is issue 13's bound on a full certification: at most 1.5×
// the guest's own boot-to-SSH time plus the time of the checks that
// measure or change the guest.
const catalogGoal = 1.5

// benchCatalog (f) reads a finished full-catalog run (make certify; its
// run directory) and sets its wall time against the floor no harness can
// beat: the target's boot-to-SSH time plus the checks that are not
// read-only (each measures or changes the guest, so it runs live, one
// after another). Read-only checks (suites.Check.Reads) are the harness's
// own overhead, with provisioning, the peer, teardown and the reports.
func benchCatalog(dir string) (*table, error) {
	b, err := reports.ReadFileLimited(filepath.Join(dir, "results.json"), 64<<20)
	if err != nil {
		return nil, fmt.Errorf("%w (run `make certify` first, or pass its run directory with -catalog-run)", err)
	}
	run := &reports.Run{}
	if err := json.Unmarshal(b, run); err != nil {
		return nil, fmt.Errorf("%s: results.json: %w", dir, err)
	}
	if !run.Complete || len(run.Targets) != 1 {
		return nil, fmt.Errorf("%s: want one complete target, have %d (complete %v)", dir, len(run.Targets), run.Complete)
	}
	tg := run.Targets[0]
	boot := time.Duration(tg.Guest.BootSeconds * float64(time.Second))
	live, ro := map[string]time.Duration{}, time.Duration(0)
	ran := 0
	for _, r := range tg.Results {
		if r.Duration == 0 {
			continue // N/A, or SKIP before it started
		}
		ran++
		c, ok := suites.Lookup(r.Check)
		if ok && len(c.Reads) > 0 {
			ro += r.Duration
			continue
		}
		live[r.Check] += r.Duration
	}
	var sum time.Duration
	for _, d := range live {
		sum += d
	}
	wall := run.Finished.Sub(run.Started)
	floor := boot + sum
	t := &table{title: "f. the full Linux catalog on the Debian guest (run " + run.ID + ")",
		head: []string{"part", "time", "ratio to boot + live checks"}}
	t.rows = [][]string{
		{"boot to SSH (the target's boot_seconds)", ms(boot), ""},
		{fmt.Sprintf("checks that measure or change the guest (%d)", len(live)), ms(sum), ""},
		{"boot + those checks: the floor", ms(floor), "1.00×"},
		{fmt.Sprintf("read-only checks (%d)", ran-len(live)), ms(ro), ratio(ro, floor)},
		{"virtcert run, start to finish", ms(wall), ratio(wall, floor)},
	}
	verdict := "met"
	if float64(wall) > catalogGoal*float64(floor) {
		verdict = "missed"
	}
	t.notes = append(t.notes, fmt.Sprintf("goal: the run within %.1f× the floor: %s", catalogGoal, verdict),
		"slowest live checks: "+slowest(live, 5))
	return t, nil
}

// slowest names the n longest checks of d with their times.
func slowest(d map[string]time.Duration, n int) string {
	ids := make([]string, 0, len(d))
	for id := range d {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return d[ids[i]] > d[ids[j]] })
	s := ""
	for i, id := range ids {
		if i == n {
			break
		}
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %s", id, ms(d[id]))
	}
	return s
}
