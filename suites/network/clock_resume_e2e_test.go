package network_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
	_ "github.com/virtcert/virtcert/suites/clock"
	_ "github.com/virtcert/virtcert/suites/pvdrivers" // drivers.guest-agent, on the same stopped agent
)

// TestE2EClockAfterPauseDebian runs clock.after-pause on the real Debian
// guest with a real fault: qemu-guest-agent stopped, so the host cannot
// set the clock back after the pause and chronyd (no reachable server in
// this guest's seed) does not; the clock stays behind by the pause and
// the check FAILs. With the agent running again it PASSes. The same
// stopped agent is drivers.guest-agent's fault: installed, not running,
// not answering the host; it FAILs, and PASSes with the agent back. Lives
// here because the lab guest helpers do (setupE2E, bootImage).
func TestE2EClockAfterPauseDebian(t *testing.T) {
	tg := setupE2E(t).bootDebian("nd-clock")
	ctx := context.Background()
	sh := func(cmd string) {
		t.Helper()
		r, err := tg.OS.Run(ctx, transport.Command{Cmd: cmd, Timeout: time.Minute})
		if err != nil || r.Exit != 0 {
			t.Fatalf("%s: %v exit %d %s", cmd, err, r.Exit, r.Stderr)
		}
	}

	sh("sudo -n systemctl stop qemu-guest-agent")
	ga := run(t, tg, "drivers.guest-agent")
	want(t, ga, reports.Fail)
	if !strings.Contains(evidenceOf(ga), "qemu-ga") {
		t.Errorf("drivers.guest-agent's FAIL does not name the stopped qemu-ga:\n%s", evidenceOf(ga))
	}
	r := run(t, tg, "clock.after-pause")
	want(t, r, reports.Fail)
	if !strings.Contains(evidenceOf(r), "guest agent") {
		t.Errorf("the FAIL's evidence does not show the failed guest-set-time:\n%s", evidenceOf(r))
	}

	sh("sudo -n systemctl start qemu-guest-agent")
	gc := tg.Guest.(drivers.GuestClock)
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := gc.GuestTime(ctx); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the agent did not answer again within a minute: %v", err)
		}
		time.Sleep(2 * time.Second)
	}
	want(t, run(t, tg, "clock.after-pause"), reports.Pass)
	want(t, run(t, tg, "drivers.guest-agent"), reports.Pass)
}

func evidenceOf(r *reports.Result) string {
	var b strings.Builder
	for _, ev := range r.Evidence {
		b.WriteString(ev.Step + ": " + ev.Output + " " + ev.Actual + "\n")
	}
	return b.String()
}
