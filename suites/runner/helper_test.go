package runner

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
)

// TestHelperNeed: a check that needs vcprobe SKIPs, with the reason, when
// the run has no helper to upload, and runs when it has one.
func TestHelperNeed(t *testing.T) {
	probeCheck := suites.Check{ID: "disk.probe", Area: "disk", Title: "probe", Needs: []string{suites.NeedHelper}, Timeout: 5 * time.Second,
		Run: func(t *suites.T) { t.Run("run vcprobe", t.Target.Helper+" version") }}
	for _, withProbe := range []bool{true, false} {
		h, d := newFakeHost(), &fakeDial{}
		o := opts(t, h, d, okCheck, probeCheck)
		if !withProbe {
			o.ProbePath = ""
		}
		run, _, err := runP(context.Background(), testPlan(t, ""), o)
		if err != nil {
			t.Fatal(err)
		}
		r := result(t, run.Targets[0], "disk.probe")
		switch {
		case withProbe && r.Status != reports.Pass:
			t.Errorf("with the helper: %s %s", r.Status, r.Reason)
		case !withProbe && (r.Status != reports.Skip || !strings.Contains(r.Reason, "vcprobe")):
			t.Errorf("without the helper: %s %q, want SKIP naming vcprobe", r.Status, r.Reason)
		}
	}
}

// TestPeerCheckWithoutHelper: a two-guest check that also needs the
// helper SKIPs (naming vcprobe) when the run has no helper, whatever
// the order of its needs: no peer is booted for it, and a peer that
// would have failed to boot does not make it an ERROR (before, the
// peer booted alongside the target, failed, and the check that could
// never have run made the run NOT CERTIFIED).
func TestPeerCheckWithoutHelper(t *testing.T) {
	for _, needs := range [][]string{{suites.NeedPeer, suites.NeedHelper}, {suites.NeedHelper, suites.NeedPeer}} {
		tp := suites.Check{ID: "network.tp", Area: "network", Title: "tp", Needs: needs, Timeout: 5 * time.Second, Run: func(t *suites.T) {}}
		h, d := newFakeHost(), &fakeDial{}
		h.failProv["-peer"] = drivers.Errorf(drivers.ClassHost, "provision", "no space left in pool")
		o := opts(t, h, d, okCheck, tp)
		o.ProbePath = ""
		run, _, err := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"), o)
		if err != nil {
			t.Fatal(err)
		}
		if r := result(t, run.Targets[0], "network.tp"); r.Status != reports.Skip || !strings.Contains(r.Reason, "vcprobe") {
			t.Errorf("needs %v: %s %q, want SKIP naming vcprobe", needs, r.Status, r.Reason)
		}
		if run.Verdict() != reports.Certified {
			t.Errorf("needs %v: verdict %s", needs, run.Verdict())
		}
		if slices.ContainsFunc(h.events, func(e string) bool { return strings.Contains(e, "-peer") }) || h.provCount != 1 {
			t.Errorf("needs %v: a peer was booted for a check that cannot use it: %d provisions, %v", needs, h.provCount, h.events)
		}
	}
}

// TestHelperOfferedOnFirstUse: the helper reaches a guest just before the
// first check that uses it, and the peer's before a two-guest check that
// uses it; checks before that run without it, and a check that only uses
// it when it is there (Uses) gets it too.
func TestHelperOfferedOnFirstUse(t *testing.T) {
	var before, clock, peer string
	first := suites.Check{ID: "platform.first", Area: "platform", Title: "first", Timeout: 5 * time.Second,
		Run: func(t *suites.T) { before = t.Target.Helper; t.Run("true", "true") }}
	uses := suites.Check{ID: "clock.uses", Area: "clock", Title: "uses", Uses: []string{suites.NeedHelper}, Timeout: 5 * time.Second,
		Run: func(t *suites.T) { clock = t.Target.Helper; t.Run("true", "true") }}
	tp := suites.Check{ID: "network.tp", Area: "network", Title: "tp", Needs: []string{suites.NeedPeer, suites.NeedHelper}, Timeout: 5 * time.Second,
		Run: func(t *suites.T) { peer = t.Target.Peer.Helper; t.Run("true", "true") }}
	h, d := newFakeHost(), &fakeDial{}
	o := opts(t, h, d, first, uses, tp)
	run, _, err := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"platform.first", "clock.uses", "network.tp"} {
		if r := result(t, run.Targets[0], id); r.Status != reports.Pass {
			t.Errorf("%s: %s %q", id, r.Status, r.Reason)
		}
	}
	if before != "" || clock != HelperPath || peer != HelperPath {
		t.Errorf("helper seen by the checks: before %q, clock %q, peer %q; want none, then %s twice", before, clock, peer, HelperPath)
	}
	n := 0
	for _, c := range d.conns {
		if c.uploaded[HelperPath] != 0 {
			n++
		}
	}
	if n != 2 {
		t.Errorf("helper uploaded over %d connections, want 2 (the guest and its peer)", n)
	}
}

// TestHelperCheckEndsTheSnapshot: a check that needs the helper, not yet
// uploaded when the read-only block is gathered, will still run (the
// helper is offered just before it), so it ends the block: the read-only
// check after it is gathered again, never served what was read before it.
func TestHelperCheckEndsTheSnapshot(t *testing.T) {
	ro, _ := readOnlyCatalog()
	marks := markerChecks(ro[:2], 0)
	write := suites.Check{ID: "disk.writes", Area: "disk", Title: "writes", Needs: []string{suites.NeedHelper}, Timeout: 5 * time.Second,
		Run: func(t *suites.T) { t.Run("write", t.Target.Helper+" write") }}
	h, d := newFakeHost(), &fakeDial{}
	var mu sync.Mutex
	gathers := 0
	d.answer = func(ctx context.Context, cmd transport.Command) (transport.Result, error, bool) {
		if _, _, ok := suites.GatherCommands(cmd.Cmd); ok {
			mu.Lock()
			gathers++
			mu.Unlock()
		}
		return markerAnswer(ctx, cmd)
	}
	o := opts(t, h, d, marks[0], write, marks[1])
	run, _, err := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"), o)
	if err != nil {
		t.Fatal(err)
	}
	if r := result(t, run.Targets[0], "disk.writes"); r.Status != reports.Pass {
		t.Errorf("disk.writes: %s %q", r.Status, r.Reason)
	}
	if gathers != 2 {
		t.Errorf("%d gathers, want 2: the read-only check after the helper check must not be served the snapshot taken before it", gathers)
	}
}
