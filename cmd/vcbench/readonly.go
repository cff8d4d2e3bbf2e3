package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	vssh "github.com/virtcert/virtcert/guests/transport/ssh"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
)

// readOnlyChecks are the checks that change nothing in the guest
// (platform, drivers, clock, network and disk): the inventory checks that
// only read, and the clock checks that time the guest against the
// controller (splitReads parts them).
var readOnlyChecks = []string{
	"platform.hypervisor",
	"drivers.balloon", "drivers.initramfs", "drivers.modules", "drivers.paravirtual",
	"clock.available", "clock.monotonic", "clock.ntp-sync", "clock.offset", "clock.rtc", "clock.source", "clock.tsc-flags",
	"network.link", "network.mtu", "network.nic-driver", "network.offloads",
	"disk.block-sizes", "disk.driver", "disk.root-identity",
}

// readOnlyGoal is issue 13's bound: read-only checks at least 3× faster
// than a one-`ssh`-per-command replay of their commands.
const readOnlyGoal = 3.0

// splitReads parts ids the way f does (suites.Check.Reads): the checks
// whose commands only read, served from a snapshot, and those that time
// the guest against the controller (clock.monotonic, clock.offset, …),
// which run live when they are judged and wait out the profile's sample
// windows.
func splitReads(ids []string) (reads, timed []string) {
	for _, id := range ids {
		if c, ok := suites.Lookup(id); ok && len(c.Reads) > 0 {
			reads = append(reads, id)
		} else {
			timed = append(timed, id)
		}
	}
	return reads, timed
}

// roGroup is one group of b timed over the rounds: the harness's checks
// (first start to last end), its whole process, and the replay.
type roGroup struct {
	ids                             []string
	span, dial, wall, script        []time.Duration
	cmds                            []string
	checks, listed, trips, fromSnap int
}

// benchReadOnly (b) runs the read-only checks through the real binary
// (existing driver, the benchmark guest), then a bash script with one
// `ssh` per command that replays the guest commands their evidence lists.
// The goal is judged on the checks f calls read-only (served from
// snapshots); the timed clock checks are run and replayed apart, so their
// deliberate waits, the same in both ways, are shown and not hidden in a
// ratio.
func benchReadOnly(ctx context.Context, bin string, g *guest, rounds int) (*table, error) {
	if rounds < 1 {
		return nil, fmt.Errorf("b needs at least one round, not %d", rounds)
	}
	reads, timed := splitReads(readOnlyChecks)
	groups := []*roGroup{{ids: reads}, {ids: timed}}
	// Round 0 is a warm-up, not counted: the guest's page cache is cold
	// after its boot (each tool's first run reads it from the disk under
	// emulation), and whichever way ran first would pay for it.
	for r := 0; r <= rounds; r++ {
		for i, gr := range groups {
			if err := gr.round(ctx, bin, g, fmt.Sprintf("readonly-%d-%d", i, r), r > 0); err != nil {
				return nil, err
			}
		}
	}
	ro, tm := groups[0], groups[1]
	t := &table{title: fmt.Sprintf("b. %d read-only checks (and %d timed clock checks apart) through the harness vs a bash+ssh replay of their guest commands, %d rounds", ro.checks, tm.checks, rounds),
		head: []string{"way", "time (median, min–max)", "ratio to the harness's checks"}}
	t.rows = append(ro.rows("read-only checks"), tm.rows("timed clock checks")...)
	got := float64(median(ro.script)) / float64(median(ro.span))
	worst := float64(slices.Min(ro.script)) / float64(slices.Max(ro.span))
	verdict := "met"
	if got < readOnlyGoal || worst < readOnlyGoal {
		verdict = "missed"
	}
	all := float64(median(ro.script)+median(tm.script)) / float64(median(ro.span)+median(tm.span))
	t.notes = append(t.notes,
		fmt.Sprintf("goal: the read-only checks ≥ %.0f× the replay, in the median and from the slowest harness round to the fastest replay: %s (%.2f×, %.2f×); their evidence lists %d guest commands (%d distinct), served in %d round trips (%d from snapshots, gather-first)",
			readOnlyGoal, verdict, got, worst, ro.listed, len(ro.cmds), ro.trips, ro.fromSnap),
		"the harness's time counts one SSH connection (timed beside the run; the replay pays one per command) and its evidence gathering and judging; the whole process adds its own start, the existing driver's readiness probe, the helper's upload when a check uses it, and the reports",
		fmt.Sprintf("timed clock checks (%s): %d guest commands, %d round trips; each times the guest against the controller as it runs and waits out the profile's sample spacing, which the replay (one command each) does not", strings.Join(tm.ids, ", "), tm.listed, tm.trips),
		fmt.Sprintf("both groups together: the replay takes %.2f× the harness's checks", all),
		"read-only as f counts it: checks that declare their reads (suites.Check.Reads); the timed ones run live in f's floor too",
		"the existing driver points at the benchmark's tiny guest: no provisioning is timed; the replay ignores exit codes",
		"an untimed warm-up round (harness and replay) runs first: the guest's page cache is cold after its boot")
	return t, nil
}

// round runs the group's checks through the harness once, then replays
// their guest commands once; it keeps the times when count is set.
func (gr *roGroup) round(ctx context.Context, bin string, g *guest, name string, count bool) error {
	plan, err := writePlan(g.dir, name+".yaml", existingPlan(g, 1, gr.ids))
	if err != nil {
		return err
	}
	h, err := runHarness(ctx, bin, plan, filepath.Join(g.dir, name))
	if err != nil {
		return err
	}
	t := h.run.Targets[0]
	gr.cmds, gr.listed = guestCommands(t), countCommands(t)
	gr.trips, gr.fromSnap = roundTrips(t)
	gr.checks = len(t.Results)
	d, err := replay(ctx, g, filepath.Join(filepath.Dir(bin), "vcprobe"), gr.cmds, name)
	if err != nil || !count {
		return err
	}
	dial, err := dialOnce(ctx, g)
	if err != nil {
		return err
	}
	gr.wall, gr.span, gr.script = append(gr.wall, h.wall), append(gr.span, gatherSpan(t)+dial), append(gr.script, d)
	gr.dial = append(gr.dial, dial)
	return nil
}

// dialOnce times one connection of the harness's SSH transport (TCP,
// key exchange, authentication), which the harness pays once and the
// replay once per command.
func dialOnce(ctx context.Context, g *guest) (time.Duration, error) {
	t0 := time.Now()
	c, err := vssh.Dial(ctx, g.sshConfig())
	if err != nil {
		return 0, err
	}
	d := time.Since(t0)
	return d, c.Close()
}

// gatherSpan is the time from the first read-only snapshot's start (or the
// first check's, without one) to the last check's end: gathering the
// evidence and judging it, what the replay's commands stand for.
func gatherSpan(t *reports.Target) time.Duration {
	span := checksSpan(t)
	first := time.Time{}
	for _, r := range t.Results {
		if !r.Started.IsZero() && (first.IsZero() || r.Started.Before(first)) {
			first = r.Started
		}
	}
	earliest := first
	eachGuestCommand(t, func(_ string, e reports.Evidence) {
		if at, ok := snapshotTaken(e.Gathered, first); ok && at.Before(earliest) {
			earliest = at
		}
	})
	return span + first.Sub(earliest)
}

// snapshotTaken reads the time a snapshot was taken from its note
// ("served from the read-only snapshot taken 15:04:05.000 UTC (…)"), on
// the day of ref, a check's start (the day before when that would put it
// half a day after ref: a run across midnight).
func snapshotTaken(note string, ref time.Time) (time.Time, bool) {
	_, rest, ok := strings.Cut(note, " snapshot taken ")
	if !ok || len(rest) < 12 {
		return time.Time{}, false
	}
	c, err := time.Parse("15:04:05.000", rest[:12])
	if err != nil {
		return time.Time{}, false
	}
	ref = ref.UTC()
	at := time.Date(ref.Year(), ref.Month(), ref.Day(), c.Hour(), c.Minute(), c.Second(), c.Nanosecond(), time.UTC)
	if at.Sub(ref) > 12*time.Hour {
		at = at.AddDate(0, 0, -1)
	}
	return at, true
}

// rows are the group's lines, ratios to its own checks.
func (gr *roGroup) rows(what string) [][]string {
	base := median(gr.span)
	return [][]string{
		{fmt.Sprintf("virtcert: %d %s (one SSH connection, then first snapshot or check start to last end)", gr.checks, what), spread(gr.span), "1.00×"},
		{"  of which the connection (dial, key exchange, auth)", spread(gr.dial), ""},
		{"  virtcert: the whole process (start, ready, checks, reports)", spread(gr.wall), ratio(median(gr.wall), base)},
		{fmt.Sprintf("  bash script, one `ssh` per command (%d)", len(gr.cmds)), spread(gr.script), ratio(median(gr.script), base)},
	}
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
func replay(ctx context.Context, g *guest, probe string, cmds []string, name string) (time.Duration, error) {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n# one ssh per command, as a naive script would\n")
	if strings.Contains(strings.Join(cmds, "\n"), "/tmp/vcprobe") {
		fmt.Fprintf(&b, "ssh %s root@%s 'cat >/tmp/vcprobe && chmod 755 /tmp/vcprobe' <%s\n", strings.Join(g.sshArgs(), " "), g.addr, shQuote(probe))
	}
	for _, c := range cmds {
		fmt.Fprintf(&b, "ssh %s root@%s %s >/dev/null 2>&1\n", strings.Join(g.sshArgs(), " "), g.addr, shQuote(c))
	}
	b.WriteString("exit 0\n")
	p := filepath.Join(g.dir, name+"-replay.sh")
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
