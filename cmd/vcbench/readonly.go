package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/virtcert/virtcert/reports"
)

// readOnlyChecks are the inventory checks: they read the guest and change
// nothing (platform, drivers, clock, network and disk).
var readOnlyChecks = []string{
	"platform.hypervisor",
	"drivers.balloon", "drivers.initramfs", "drivers.modules", "drivers.paravirtual",
	"clock.available", "clock.monotonic", "clock.ntp-sync", "clock.offset", "clock.rtc", "clock.source", "clock.tsc-flags",
	"network.link", "network.mtu", "network.nic-driver", "network.offloads",
	"disk.block-sizes", "disk.driver", "disk.root-identity",
}

// benchReadOnly (b) runs the read-only checks through the real binary
// (existing driver, the benchmark guest), then a bash script with one
// `ssh` per command that replays the guest commands their evidence lists.
func benchReadOnly(ctx context.Context, bin string, g *guest, rounds int) (*table, error) {
	var wall, span, script []time.Duration
	var cmds []string
	var checks, listed, trips, gathered int
	for r := 0; r < rounds; r++ {
		plan, err := writePlan(g.dir, "readonly.yaml", existingPlan(g, 1, readOnlyChecks))
		if err != nil {
			return nil, err
		}
		h, err := runHarness(ctx, bin, plan, filepath.Join(g.dir, fmt.Sprintf("readonly-%d", r)))
		if err != nil {
			return nil, err
		}
		t := h.run.Targets[0]
		wall, span = append(wall, h.wall), append(span, checksSpan(t))
		cmds, listed = guestCommands(t), countCommands(t)
		trips, gathered = roundTrips(t)
		checks = len(t.Results)
		d, err := replay(ctx, g, filepath.Join(filepath.Dir(bin), "vcprobe"), cmds)
		if err != nil {
			return nil, err
		}
		script = append(script, d)
	}
	t := &table{title: fmt.Sprintf("b. %d read-only checks through the harness vs a bash+ssh replay of their %d distinct guest commands, %d rounds", checks, len(cmds), rounds),
		head: []string{"way", "time (median, min–max)", "ratio to the harness's checks"}}
	base := median(span)
	t.rows = [][]string{
		{"virtcert: the checks (first start to last end)", spread(span), "1.00×"},
		{"virtcert: the whole process (start, ready, checks, reports)", spread(wall), ratio(median(wall), base)},
		{"bash script, one `ssh` per command", spread(script), ratio(median(script), base)},
	}
	t.notes = append(t.notes,
		fmt.Sprintf("the harness's evidence lists %d guest commands (%d distinct); it went to the guest %d times for them (%d served from read-only snapshots, gather-first); the script runs each distinct one once", listed, len(cmds), trips, gathered),
		"the existing driver points at the benchmark's tiny guest: no provisioning is timed; the replay ignores exit codes")
	return t, nil
}

// guestCommands are the distinct commands run in the guest, in the order
// the evidence lists them (host-side steps left out).
func guestCommands(t *reports.Target) []string {
	seen := map[string]bool{}
	var out []string
	eachGuestCommand(t, func(c string, _ reports.Evidence) {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	})
	return out
}

// guestCommand is an evidence command as a shell would run it: without a
// trailing note in parentheses ("'/tmp/vcprobe' clock (one session, …)").
func guestCommand(c string) string {
	c = strings.TrimSpace(c)
	if strings.HasSuffix(c, ")") {
		if i := strings.LastIndex(c, " ("); i > 0 && !strings.Contains(c[i:], "'") {
			c = c[:i]
		}
	}
	return c
}

// eachGuestCommand calls f for every evidence entry that ran in the guest
// (host-side and controller steps left out), with its command as a shell
// would run it.
func eachGuestCommand(t *reports.Target, f func(string, reports.Evidence)) {
	for _, r := range t.Results {
		for _, e := range r.Evidence {
			c := guestCommand(e.Command)
			if c == "" || strings.HasPrefix(c, "host:") || strings.HasPrefix(c, "controller:") {
				continue
			}
			f(c, e)
		}
	}
}

// countCommands is how many guest commands the evidence lists, repeats
// included.
func countCommands(t *reports.Target) int {
	n := 0
	eachGuestCommand(t, func(string, reports.Evidence) { n++ })
	return n
}

// roundTrips is how many times the harness went to the guest for those
// commands: once per read-only snapshot (gather-first: every entry served
// from one snapshot carries the same Gathered note), once per command run
// on its own.
func roundTrips(t *reports.Target) (trips, gathered int) {
	snapshots := map[string]bool{}
	eachGuestCommand(t, func(_ string, e reports.Evidence) {
		switch {
		case e.Gathered == "":
			trips++
		case !snapshots[e.Gathered]:
			snapshots[e.Gathered] = true
			trips++
			gathered++
		default:
			gathered++
		}
	})
	return trips, gathered
}

// replay writes the bash script (kept in the guest's directory for
// reading) and times one run of it.
// A command that runs the helper is preceded by one upload of it, as the
// harness does.
func replay(ctx context.Context, g *guest, probe string, cmds []string) (time.Duration, error) {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n# one ssh per command, as a naive script would\n")
	if strings.Contains(strings.Join(cmds, "\n"), "/tmp/vcprobe") {
		fmt.Fprintf(&b, "ssh %s root@%s 'cat >/tmp/vcprobe && chmod 755 /tmp/vcprobe' <%s\n", strings.Join(g.sshArgs(), " "), g.addr, shQuote(probe))
	}
	for _, c := range cmds {
		fmt.Fprintf(&b, "ssh %s root@%s %s >/dev/null 2>&1\n", strings.Join(g.sshArgs(), " "), g.addr, shQuote(c))
	}
	b.WriteString("exit 0\n")
	p := filepath.Join(g.dir, "replay.sh")
	if err := os.WriteFile(p, []byte(b.String()), 0o700); err != nil {
		return 0, err
	}
	t0 := time.Now()
	if out, err := exec.CommandContext(ctx, "bash", p).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("replay: %v: %s", err, tail(string(out), 400))
	}
	return time.Since(t0), nil
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
