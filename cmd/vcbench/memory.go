package main

import (
	"context"
	"fmt"
	"path/filepath"
)

// memoryChecks are five read-only checks, one per area: 16 targets of the
// whole read-only set on one emulated single-vCPU guest take minutes.
var memoryChecks = []string{"platform.hypervisor", "drivers.modules", "clock.rtc", "network.link", "disk.block-sizes"}

// benchMemory (e) runs read-only checks on 16 existing-driver targets
// at once, all pointing at the one benchmark guest, and reads the
// harness's maximum resident set size from the kernel.
func benchMemory(ctx context.Context, bin string, g *guest, n int) (*table, error) {
	t := &table{title: fmt.Sprintf("e. harness memory: %d existing-driver targets at once (the same tiny guest %d times), %d read-only checks each", n, n, len(memoryChecks)),
		head: []string{"targets", "max RSS", "wall", "checks"}}
	for _, k := range []int{1, n} {
		plan, err := writePlan(g.dir, fmt.Sprintf("memory-%d.yaml", k), existingPlan(g, k, memoryChecks))
		if err != nil {
			return nil, err
		}
		h, err := runHarness(ctx, bin, plan, filepath.Join(g.dir, fmt.Sprintf("memory-%d", k)))
		if err != nil {
			return nil, err
		}
		results := 0
		for _, tg := range h.run.Targets {
			results += len(tg.Results)
		}
		t.rows = append(t.rows, []string{fmt.Sprint(len(h.run.Targets)), fmt.Sprintf("%.1f MiB", float64(h.maxRSS)/(1<<20)), ms(h.wall), fmt.Sprint(results)})
	}
	t.notes = append(t.notes, "max RSS is ru_maxrss of the virtcert process (from wait4): its peak, not an average",
		"16 real guests would not fit this 2-core lab at once; each target has its own SSH connection, checks and results, only the guest is shared")
	return t, nil
}
