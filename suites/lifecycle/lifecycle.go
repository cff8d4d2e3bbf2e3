// Package lifecycle holds the disruptive power and state checks: guest
// reboot, host reboot, pause/resume, save/restore and graceful shutdown.
// All are Disruptive, so the runner orders them after the others; each
// leaves the guest running and reachable again when it can.
package lifecycle

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/parse"
)

func init() {
	reg := func(c suites.Check) {
		c.Area, c.OS, c.Disruptive = "lifecycle", []string{"linux"}, true
		suites.Register(c)
	}
	reg(suites.Check{ID: "lifecycle.reboot", Keys: []string{"max_seconds", "boot_factor"}, Waits: []string{"max_seconds"}, Priority: 1, Title: "Guest reboot comes back",
		Doc: "Reboots from inside the guest, re-dials the transport until the guest answers with a new " +
			"boot_id, and times it: back within the profile's max_seconds, or, where the profile sets boot_factor " +
			"(software emulation), within boot_factor times the guest's own boot-to-ready time in this run when that is longer.",
		Timeout: 12 * time.Minute, Run: func(t *suites.T) { RunReboot(t, Linux) }})
	reg(suites.Check{ID: "lifecycle.host-reboot", Keys: []string{"max_seconds", "boot_factor"}, Waits: []string{"max_seconds"}, Priority: 2, Title: "Host-initiated reboot comes back",
		Doc: "The host driver reboots the guest (ACPI / integration service); the guest must come back " +
			"with a new boot_id within max_seconds (scaled like lifecycle.reboot's by boot_factor).",
		Timeout: 12 * time.Minute, Run: func(t *suites.T) { RunHostReboot(t, Linux) }})
	reg(suites.Check{ID: "lifecycle.pause-resume", Keys: []string{"pause_seconds", "responsive_seconds"}, Waits: []string{"pause_seconds", "responsive_seconds"}, Priority: 2, Title: "Pause and resume keep the guest running",
		Doc: "Host pauses the guest for pause_seconds and resumes it; boot_id is unchanged and the guest " +
			"answers over the network and completes a synced disk write within responsive_seconds.",
		Needs: []string{"PauseResume"}, Timeout: 5 * time.Minute, Run: func(t *suites.T) { RunPauseResume(t, Linux) }})
	reg(suites.Check{ID: "lifecycle.save-restore", Keys: []string{"responsive_seconds"}, Waits: []string{"responsive_seconds"}, Priority: 2, Title: "Save and restore keep the guest running",
		Doc: "Host saves the guest's memory and restores it; boot_id is unchanged and the guest answers " +
			"over the network and completes a synced disk write within responsive_seconds.",
		Needs: []string{"SaveRestore"}, Timeout: 8 * time.Minute, Run: func(t *suites.T) { RunSaveRestore(t, Linux) }})
	reg(suites.Check{ID: "lifecycle.shutdown", Keys: []string{"max_seconds", "restart_seconds", "boot_factor"}, Waits: []string{"max_seconds", "restart_seconds"}, Priority: 1, Title: "Graceful host shutdown powers the guest off",
		Doc: "The host asks for a graceful shutdown (ACPI / shutdown integration service); the guest must be " +
			"off within max_seconds (scaled like lifecycle.reboot's by boot_factor). The check then starts the guest again and waits for it, so later " +
			"checks still have a guest (waiting up to restart_seconds); it is Disruptive and the runner orders it last. If the restart " +
			"fails the verdict stands and the check reports the restart failure as ERROR.",
		Timeout: 12 * time.Minute, Run: func(t *suites.T) { RunShutdown(t, Linux) }})
}

// Probes are the guest commands the lifecycle checks run, so the same
// checks serve another guest OS (suites/windows passes PowerShell ones).
type Probes struct {
	// BootID prints an identity of the current boot (at least 32
	// characters) on its first line.
	BootID string
	// Reboot schedules a reboot and returns at once.
	Reboot string
	// Responsive prints the sections "boot_id" and "write" (write-ok
	// after a synced write), in parse.Sections' format.
	Responsive string
}

// Linux are the Linux guest's probes.
var Linux = Probes{BootID: suites.ProbeBootID, Reboot: probeReboot, Responsive: probeResponsive}

func readBootID(t *suites.T, p Probes, step string) string {
	r := t.Run(step, p.BootID)
	id := parse.FirstLine(string(r.Stdout))
	if r.Exit != 0 || len(id) < 32 {
		t.Fatalf("%s: no boot_id (exit %d, %q)", step, r.Exit, id)
	}
	return id
}

// JudgeReboot checks a reboot's outcome.
func JudgeReboot(before, after string, back time.Duration, l Limit) suites.Verdict {
	var v suites.Verdict
	v.Add("boot_id changed", after != "" && after != before, "a new boot_id (was "+before+")", rebootActual(before, after), "", "")
	v.Add("time until the guest answers again", after != "" && after != before && back.Seconds() <= l.Seconds(),
		"<= "+l.String(), fmt.Sprintf("%.1fs", back.Seconds()), l.Basis(), l.Key)
	return v
}

func rebootActual(before, after string) string {
	if after == before {
		return after + " (unchanged: no reboot happened)"
	}
	return cmp.Or(after, "never answered")
}

// waitBack re-dials until the guest answers with a boot_id other than
// before, or limit passes. It returns the new boot_id ("" on timeout).
func waitBack(t *suites.T, p Probes, before string, limit time.Duration) (string, time.Duration) {
	if t.Target.Reconnect == nil {
		t.Skipf("the runner gave this check no way to re-dial the guest (Target.Reconnect is nil)")
	}
	start := time.Now()
	deadline := start.Add(limit)
	// Stop before the check's own timeout, so a guest that never comes
	// back is judged (FAIL) rather than cut off (ERROR).
	if d, ok := t.Context().Deadline(); ok && d.Add(-waitMargin).Before(deadline) {
		deadline = d.Add(-waitMargin)
		t.Evidence(reports.Evidence{Step: "wait bounded by the check's timeout", Output: fmt.Sprintf("waiting %.1fs, not %.1fs", time.Until(deadline).Seconds(), limit.Seconds())})
	}
	attempts, lastErr, sameBoot := 0, error(nil), 0
	for time.Now().Before(deadline) {
		attempts++
		actx, cancel := context.WithTimeout(t.Context(), min(30*time.Second, time.Until(deadline)))
		x, err := t.Target.Reconnect(actx)
		if err == nil {
			t.Target.OS = x
			r, rerr := x.Run(actx, transportCmd(p.BootID))
			id := parse.FirstLine(string(r.Stdout))
			if rerr == nil && r.Exit == 0 && len(id) >= 32 && id != before {
				cancel()
				t.Evidence(reports.Evidence{Step: "guest answered again", Command: p.BootID, Output: fmt.Sprintf("%s after %d dial attempts", id, attempts), Duration: time.Since(start)})
				return id, time.Since(start)
			}
			lastErr = rerr
			if rerr == nil && id == before {
				sameBoot++
				lastErr = fmt.Errorf("the guest answered with its old boot_id %s (%d times): it has not rebooted", id, sameBoot)
			}
		} else {
			lastErr = err
		}
		cancel()
		if t.Context().Err() != nil {
			break
		}
		select {
		case <-t.Context().Done():
		case <-time.After(min(redialEvery, max(time.Until(deadline), 0))):
		}
	}
	t.Evidence(reports.Evidence{Step: "guest did not come back with a new boot", Output: fmt.Sprintf("%d dial attempts; last: %v", attempts, lastErr), Duration: time.Since(start)})
	if sameBoot > 0 {
		return before, time.Since(start)
	}
	return "", time.Since(start)
}

// redialEvery paces waitBack's dial attempts (a seam for tests).
var redialEvery = 2 * time.Second

// waitMargin is what waitBack leaves of the check's timeout for judging.
const waitMargin = 20 * time.Second

// probeReboot reboots detached (ignoring the session's hangup; busybox
// has no nohup), so the session ends cleanly first. A
// graceful reboot kills the detached shell on the way down; if nothing
// happened 20 s later (an init that ignores the request, like a shell
// script as PID 1), it forces the reboot, which the time to SSH shows.
const probeReboot = `: vc=reboot; S=; [ "$(id -u)" = 0 ] || S="sudo -n"; ` +
	`sh -c "trap '' HUP; sleep 1; $S reboot; sleep 20; $S reboot -f" >/dev/null 2>&1 </dev/null & echo reboot-scheduled`

// RunReboot is lifecycle.reboot's body with the guest's probes.
func RunReboot(t *suites.T, p Probes) {
	l := limit(t, "max_seconds")
	before := readBootID(t, p, "boot_id before reboot")
	r := t.Run("reboot from inside the guest", p.Reboot)
	if r.Exit != 0 {
		t.Fatalf("reboot command failed with exit %d", r.Exit)
	}
	judgeBack(t, p, "lifecycle.reboot.seconds", before, l)
}

// RunHostReboot is lifecycle.host-reboot's body with the guest's probes.
func RunHostReboot(t *suites.T, p Probes) {
	l := limit(t, "max_seconds")
	before := readBootID(t, p, "boot_id before host reboot")
	start := time.Now()
	err := t.Target.Guest.Power(t.Context(), drivers.PowerReboot)
	t.HostStep("Power(reboot)", "Power(reboot)", "", err, time.Since(start))
	t.HostFailed("reboot", err)
	judgeBack(t, p, "lifecycle.host_reboot.seconds", before, l)
}

// judgeBack waits for the guest to come back with a new boot within the
// limit l, measures the time as metric against l, and judges it.
func judgeBack(t *suites.T, p Probes, metric, before string, l Limit) {
	after, took := waitBack(t, p, before, l.Duration())
	th := l.Seconds()
	t.Measure(reports.Measurement{Name: metric, Unit: "s", Value: took.Seconds(), Threshold: &th, Better: "lower"})
	t.Judge(JudgeReboot(before, after, took, l))
}

// probeResponsive proves the guest answers and its disk completes a synced
// write.
var probeResponsive = suites.Sections("responsive",
	[2]string{"boot_id", `cat /proc/sys/kernel/random/boot_id`},
	[2]string{"write", `f=/var/tmp/.virtcert-lifecycle; [ -d /var/tmp ] || f=/tmp/.virtcert-lifecycle; ` +
		`dd if=/dev/zero of="$f" bs=4096 count=64 2>/dev/null && sync && rm -f "$f" && echo write-ok`},
)

// JudgeResponsive checks boot_id and the disk write after resume.
func JudgeResponsive(op, before, out string, took time.Duration, limit float64) suites.Verdict {
	var v suites.Verdict
	s := parse.Sections(out)
	after := parse.FirstLine(s["boot_id"])
	v.Add("boot_id unchanged across "+op, after == before && before != "", before, cmp.Or(after, "never answered"), "", "")
	v.Add("synced disk write after "+op, parse.FirstLine(s["write"]) == "write-ok", "write-ok", parse.FirstLine(s["write"]), "", "")
	v.Add("guest answered over the network after "+op, took.Seconds() <= limit, fmt.Sprintf("<= %gs", limit), fmt.Sprintf("%.2fs", took.Seconds()), "", "responsive_seconds")
	return v
}

func stateEvidence(t *suites.T, want drivers.PowerState) {
	st, err := t.Target.Guest.State(t.Context())
	// Informational: the verdict rests on what the guest shows afterwards.
	t.Evidence(reports.Evidence{Step: "host: State (informational)", Command: "host: State", Output: fmt.Sprintf("%s %s (expected %s)", st, errText(err), want)})
}

func errText(err error) string {
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return ""
}

func hostOp(t *suites.T, p Probes, op string, do func() error) {
	limit := t.Float("responsive_seconds")
	before := readBootID(t, p, "boot_id before "+op)
	start := time.Now()
	err := do()
	t.HostStep(op, op, "", err, time.Since(start))
	if err != nil {
		t.Errorf("host %s: %v", op, err)
	}
	stateEvidence(t, drivers.StateRunning)
	start = time.Now()
	r := t.Run("boot_id and a synced write after "+op, p.Responsive)
	t.Judge(JudgeResponsive(op, before, string(r.Stdout), time.Since(start), limit))
}

// RunPauseResume is lifecycle.pause-resume's body with the guest's probes.
func RunPauseResume(t *suites.T, p Probes) {
	pr := suites.Need[drivers.PauseResume](t, "PauseResume")
	pause := time.Duration(t.Float("pause_seconds") * float64(time.Second))
	hostOp(t, p, "pause/resume", func() error {
		if err := pr.Pause(t.Context()); err != nil {
			return err
		}
		stateEvidence(t, drivers.StatePaused)
		select {
		case <-t.Context().Done():
			return t.Context().Err()
		case <-time.After(pause):
		}
		return pr.Resume(t.Context())
	})
}

// RunSaveRestore is lifecycle.save-restore's body with the guest's probes.
func RunSaveRestore(t *suites.T, p Probes) {
	sr := suites.Need[drivers.SaveRestore](t, "SaveRestore")
	hostOp(t, p, "save/restore", func() error {
		if err := sr.Save(t.Context()); err != nil {
			return err
		}
		stateEvidence(t, drivers.StateSaved)
		return sr.Restore(t.Context())
	})
}

// JudgeShutdown checks that the guest was off in time.
func JudgeShutdown(state drivers.PowerState, err error, took time.Duration, l Limit) suites.Verdict {
	var v suites.Verdict
	act := fmt.Sprintf("%s after %.1fs", state, took.Seconds())
	if err != nil {
		act += " (" + err.Error() + ")"
	}
	v.Add("guest off after a graceful shutdown request", state == drivers.StateOff && took.Seconds() <= l.Seconds(),
		"off within "+l.String(), act, l.Basis(), l.Key)
	return v
}

// RunShutdown is lifecycle.shutdown's body with the guest's probes.
func RunShutdown(t *suites.T, p Probes) {
	l := limit(t, "max_seconds")
	before := readBootID(t, p, "boot_id before shutdown")
	ctx, cancel := context.WithTimeout(t.Context(), l.Duration())
	start := time.Now()
	err := t.Target.Guest.Power(ctx, drivers.PowerShutdown)
	took := time.Since(start)
	cancel()
	t.HostStep("Power(shutdown)", "Power(shutdown)", "", err, took)
	if errors.Is(err, drivers.ErrUnsupported) {
		t.Skipf("host driver cannot shut a guest down gracefully: %v", err)
	}
	st, serr := t.Target.Guest.State(t.Context())
	if serr != nil {
		t.Errorf("host: State after shutdown: %v", serr)
	}
	t.Judge(JudgeShutdown(st, err, took, l))
	th := l.Seconds()
	t.Measure(reports.Measurement{Name: "lifecycle.shutdown.seconds", Unit: "s", Value: took.Seconds(), Threshold: &th, Better: "lower"})
	// Bring the guest back for whatever runs after this check.
	if st == drivers.StateRunning {
		return // it ignored the request: still up, nothing to restore
	}
	if st != drivers.StateOff {
		_ = t.Target.Guest.Power(t.Context(), drivers.PowerOff)
	}
	start = time.Now()
	err = t.Target.Guest.Power(t.Context(), drivers.PowerStart)
	t.HostStep("Power(start) to restore the guest", "Power(start) to restore the guest", "", err, time.Since(start))
	if err != nil {
		t.Errorf("restarting the guest after the shutdown check: %v", err)
	}
	if after, _ := waitBack(t, p, before, limit(t, "restart_seconds").Duration()); after == "" && !t.Failed() {
		t.Errorf("the guest did not come back after the shutdown check restarted it")
	}
}
