package network_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
	_ "github.com/virtcert/virtcert/suites/clock"
	_ "github.com/virtcert/virtcert/suites/pvdrivers" // drivers.guest-agent, on the same stopped agent
)

// TestE2EDebian boots the Debian fixture guest once and shares it, in
// order, between two parts (the guest's boot is the costliest step of
// the package: minutes under a loaded lab):
//
//   - "checks": the network and disk checks (reading ethtool and the root
//     device). disk.iops runs as a certification does (tool agreement
//     off: vcprobe alone, no fio step); network.throughput.controller and
//     disk.throughput run in the measurement mode (`run --agreement`), so
//     real fio and iperf3 JSON is parsed and the gap reported on a real
//     guest in every `make test`.
//   - "clock-after-pause", last because it stops and restarts the guest
//     agent and pauses the guest: clock.after-pause with a real fault,
//     qemu-guest-agent stopped, so the host cannot set the clock back
//     after the pause and chronyd (no reachable server in this guest's
//     seed) does not; the clock stays behind by the pause and the check
//     FAILs. With the agent running again it PASSes. The same stopped
//     agent is drivers.guest-agent's fault: installed, not running, not
//     answering the host; it FAILs, and PASSes with the agent back.
//
// Until this change each part booted its own Debian guest.
func TestE2EDebian(t *testing.T) {
	t.Parallel()
	e := setupE2E(t, 2) // one Debian guest
	tg := e.bootDebian("nd-deb")
	t.Run("checks", func(t *testing.T) { debianChecks(t, tg) })
	t.Run("clock-after-pause", func(t *testing.T) { clockAfterPause(t, tg) })
}

func debianChecks(t *testing.T, tg *suites.Target) {
	for _, id := range []string{"network.nic-driver", "network.link", "network.reachability", "network.offloads", "network.mtu",
		"network.throughput.controller", "disk.driver", "disk.integrity", "disk.throughput", "disk.iops",
		"disk.block-sizes", "disk.discard", "disk.root-identity"} {
		tg.Agreement = id == "network.throughput.controller" || id == "disk.throughput"
		r := run(t, tg, id)
		want(t, r, reports.Pass, reports.Skip)
		if r.Status != reports.Pass || !strings.Contains(id, "throughput") && id != "disk.iops" {
			continue
		}
		if n := sources(r); tg.Agreement != (len(n) > 1) {
			t.Errorf("%s with agreement %v measured with %v", id, tg.Agreement, n)
		}
	}
	tg.Agreement = false
}

// sources lists the tools a result's measurements came from.
func sources(r *reports.Result) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range r.Measures {
		if !seen[m.Source] {
			seen[m.Source] = true
			out = append(out, m.Source)
		}
	}
	return out
}

func clockAfterPause(t *testing.T, tg *suites.Target) {
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
