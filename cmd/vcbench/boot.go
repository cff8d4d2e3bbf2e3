package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// benchFirstVerdict (c) times the harness from exec to its first verdict
// (one quick check on a fresh tiny guest through the libvirt driver)
// against the raw path: overlay, seed, `virsh create`, lease, SSH `true`.
// first is the raw boot of the benchmark guest, already done.
func benchFirstVerdict(ctx context.Context, bin, uri, tiny string, first time.Duration, rounds int) (*table, error) {
	raw := []time.Duration{first}
	var verdict, wall, pinned []time.Duration
	for r := 0; r < rounds; r++ {
		if r > 0 {
			g, err := bootTiny(ctx, uri, tiny, workDir)
			if g != nil {
				g.destroy()
			}
			if err != nil {
				return nil, err
			}
			raw = append(raw, g.toSSH)
		}
		h, err := firstVerdictRun(ctx, bin, tiny, "")
		if err != nil {
			return nil, err
		}
		verdict, wall = append(verdict, h.firstVerdict), append(wall, h.wall)
		if h, err = firstVerdictRun(ctx, bin, tiny, "qemu"); err != nil {
			return nil, err
		}
		pinned = append(pinned, h.firstVerdict)
	}
	t := &table{title: fmt.Sprintf("c. time to first verdict on a fresh tiny guest, %d rounds", rounds),
		head: []string{"way", "time (median, min–max)", "ratio to the raw script"}}
	base := median(raw)
	t.rows = [][]string{
		{"raw: overlay + seed + virsh create + lease + ssh true", spread(raw), "1.00×"},
		{"virtcert run: first verdict (platform.hypervisor)", spread(verdict), ratio(median(verdict), base)},
		{"virtcert run: exit (guest destroyed, reports written)", spread(wall), ratio(median(wall), base)},
		{"virtcert run, domain_type: qemu: first verdict", spread(pinned), ratio(median(pinned), base)},
	}
	t.notes = append(t.notes, "both poll for SSH; the raw path every 250 ms, the harness with its own backoff; peer: none",
		"the raw script's domain XML says type='qemu'; a default run first probes whether KVM works (a probe boot with a deadline: on this lab "+
			"nested KVM hangs, so the probe waits out its 4 s); `domain_type: qemu` knows what the raw script knows and skips the probe")
	return t, nil
}

// firstVerdictRun runs the first-verdict plan once, with the hosts'
// domain_type typ ("" to probe).
func firstVerdictRun(ctx context.Context, bin, tiny, typ string) (*harnessRun, error) {
	dir, err := tempDir("verdict")
	if err != nil {
		return nil, err
	}
	plan, err := writePlan(dir, "plan.yaml", labPlanTyped(tiny, 1, 1, []string{"platform.hypervisor"}, typ))
	if err != nil {
		return nil, err
	}
	return runHarness(ctx, bin, plan, filepath.Join(dir, "out"))
}

// benchParallel (d) runs n tiny guests (one quick check each) with
// parallel n and with parallel 1, for each n.
func benchParallel(ctx context.Context, bin, tiny string, ns []int) (*table, error) {
	t := &table{title: "d. tiny guests in parallel vs one after another (platform.hypervisor on each)",
		head: []string{"guests", "one after another", "in parallel", "speed-up"}}
	for _, n := range ns {
		var d [2]time.Duration
		for i, par := range []int{1, n} {
			dir, err := tempDir("parallel")
			if err != nil {
				return nil, err
			}
			plan, err := writePlan(dir, "plan.yaml", labPlan(tiny, n, par, []string{"platform.hypervisor"}))
			if err != nil {
				return nil, err
			}
			h, err := runHarness(ctx, bin, plan, filepath.Join(dir, "out"))
			if err != nil {
				return nil, err
			}
			d[i] = h.wall
		}
		t.rows = append(t.rows, []string{fmt.Sprint(n), ms(d[0]), ms(d[1]), fmt.Sprintf("%.2f×", float64(d[0])/float64(d[1]))})
	}
	t.notes = append(t.notes, "wall time of `virtcert run` with parallel: 1 and parallel: n on the same plan; admission by host memory may hold guests back")
	return t, nil
}
