package runner

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/reports"
)

// TestPeerUnavailable: a peer guest that cannot be provisioned (whatever
// the class of the failure), or whose host cannot be opened, makes the
// peer checks ERROR (the harness or the host broke; nothing was learnt
// about the guest), never SKIP, and neither the target nor the run is
// CERTIFIED (issue 15); the target's own checks still run. A plan that
// asks for no peer SKIPs them with the reason, and the rest can still
// certify.
func TestPeerUnavailable(t *testing.T) {
	cases := []struct {
		name, extra string
		provErr     error
		failOpen    bool
		want        reports.Status
		why         string
		whole       bool // why is the whole reason
		input       bool // the run records it as bad input (exit 2)
	}{
		{"provision fails", "", drivers.Errorf(drivers.ClassHost, "provision", "no space left in pool"), false, reports.Error, "peer guest (h1/tiny)", false, false},
		{"provision fails with a guest-class error", "", drivers.Errorf(drivers.ClassGuest, "provision", "image does not boot"), false, reports.Error, "peer guest (h1/tiny)", false, false},
		{"peer host fails", "peer: h2/other\n", nil, true, reports.Error, "peer host h2", false, false},
		{"peer's image says the wrong os", "", drivers.Errorf(drivers.ClassInput, "images.tiny.os", "the plan says os: linux, but the guest answers WinRM"), false, reports.Error, "peer guest (h1/tiny)", false, true},
		{"peer: none", "peer: none\n", nil, false, reports.Skip, "plan sets peer: none", true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, d := newFakeHost(), &fakeDial{}
			h.failProv["-peer"] = cmp.Or(c.provErr, drivers.Errorf(drivers.ClassHost, "provision", "no space left in pool"))
			o := opts(t, h, d, okCheck, peerCheck)
			o.Openers["libvirt"] = func(ctx context.Context, uri string, _ drivers.OpenOptions) (drivers.Host, error) {
				if c.failOpen && strings.Contains(uri, "h2") {
					return nil, drivers.Errorf(drivers.ClassHost, "open", "connection refused")
				}
				return h, nil
			}
			p := peerPlan(t, c.extra)
			run, out, err := runP(context.Background(), p, o)
			if err != nil {
				t.Fatal(err)
			}
			input := out.Setup != nil && slices.ContainsFunc(out.Setup.Errs, func(e error) bool { return drivers.ClassOf(e) == drivers.ClassInput })
			if input != c.input {
				t.Errorf("bad input recorded for the run: %v, want %v (setup %v)", input, c.input, out.Setup)
			}
			var tg *reports.Target
			for _, x := range run.Targets {
				if x.ID == "h1/tiny" {
					tg = x
				}
			}
			r := result(t, tg, "network.peer")
			if r.Status != c.want || !strings.Contains(r.Reason, c.why) || c.whole && r.Reason != c.why {
				t.Errorf("network.peer: %s %q, want %s with %q", r.Status, r.Reason, c.want, c.why)
			}
			if r := result(t, tg, "platform.ok"); r.Status != reports.Pass {
				t.Errorf("own check: %s %s", r.Status, r.Reason)
			}
			if c.want == reports.Error && (tg.Verdict(run.Complete) == reports.Certified || run.Verdict() == reports.Certified) {
				t.Errorf("CERTIFIED without its peer checks")
			}
			if c.want == reports.Skip && run.Verdict() != reports.Certified {
				t.Errorf("verdict %s", run.Verdict())
			}
		})
	}
}

// peerPlan: target h1/tiny, and h2/other on a second host (a matrix target,
// so it can be named as the peer).
func peerPlan(t *testing.T, extra string) *plan.Plan {
	t.Helper()
	return parsePlan(t, `name: test
hosts:
  h1: {driver: libvirt, uri: "qemu:///system"}
  h2: {driver: libvirt, uri: "qemu+ssh://h2/system"}
images:
  tiny: {path: disk.qcow2, memory_mb: 128}
  other: {path: disk.qcow2, memory_mb: 128}
matrix:
  - {host: h1, image: tiny}
  - {host: h2, image: other}
timeouts: {ready: 2s, provision: 5s, destroy: 1s}
`+extra)
}

// waitLive waits until a live guest's name ends with suffix, or ctx
// ends; it reports whether it saw one.
func waitLive(ctx context.Context, h *fakeHost, suffix string) bool {
	for {
		if slices.ContainsFunc(h.names(), func(n string) bool { return strings.HasSuffix(n, suffix) }) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// TestPeerBootsWithTarget: the peer is provisioned while the target's
// guest boots, not after it is ready. The fake's target guest gets no
// address until the peer exists (within its ready timeout): booted one
// after the other, the target never becomes ready. The order is read
// from the fake's logical timestamps.
func TestPeerBootsWithTarget(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	o := opts(t, h, d, okCheck, peerCheck)
	h.beforeAddr = func(ctx context.Context, name string) {
		if strings.HasSuffix(name, "-h1-tiny") {
			waitLive(ctx, h, "-h1-tiny-peer")
		}
	}
	p := testPlan(t, "parallel: 1\nmatrix:\n  - {host: h1, image: tiny}\n  - {host: h1, image: other}\npeer: h1/other\n")
	run, _, err := runP(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	tg := run.Targets[0]
	for _, id := range []string{"platform.ok", "network.peer"} {
		if r := result(t, tg, id); r.Status != reports.Pass {
			t.Errorf("%s: %s %s", id, r.Status, r.Reason)
		}
	}
	peer, ok1 := h.stampOf("provision " + run.ID + "-h1-tiny-peer")
	ready, ok2 := h.stampOf("address " + run.ID + "-h1-tiny")
	if !ok1 || !ok2 || peer > ready {
		t.Errorf("peer provisioned at tick %d (%v), target's address at tick %d (%v): want the peer first", peer, ok1, ready, ok2)
	}
	if left := h.names(); len(left) != 0 {
		t.Errorf("guests left: %v", left)
	}
}

// TestPeerBootsWithTargetCleanup: when the target's guest fails to
// provision while its peer boots, or the run is cancelled while both
// boot, both are destroyed.
func TestPeerBootsWithTargetCleanup(t *testing.T) {
	for _, c := range []string{"target fails", "cancelled"} {
		t.Run(c, func(t *testing.T) {
			h, d := newFakeHost(), &fakeDial{}
			o := opts(t, h, d, okCheck, peerCheck)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			h.provFail = func(name string) error {
				if strings.HasSuffix(name, "-h1-tiny") && c == "target fails" {
					wctx, stop := context.WithTimeout(ctx, 5*time.Second)
					defer stop()
					waitLive(wctx, h, "-h1-tiny-peer")
					return drivers.Errorf(drivers.ClassGuest, "provision", "image does not boot")
				}
				return nil
			}
			both := false
			h.beforeAddr = func(actx context.Context, name string) {
				if c == "cancelled" && strings.HasSuffix(name, "-h1-tiny") {
					both = waitLive(actx, h, "-h1-tiny-peer")
					cancel()
				}
			}
			p := testPlan(t, "parallel: 1\nmatrix:\n  - {host: h1, image: tiny}\n  - {host: h1, image: other}\npeer: h1/other\n")
			run, _, err := runP(ctx, p, o)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(h.events, "\n"), "-h1-tiny-peer") || c == "cancelled" && !both {
				t.Fatalf("the peer was not provisioned alongside:\n%s", strings.Join(h.events, "\n"))
			}
			if left := h.names(); len(left) != 0 {
				t.Errorf("guests left: %v", left)
			}
			if c == "target fails" && !strings.Contains(run.Targets[0].Error, "image does not boot") {
				t.Errorf("target error %q", run.Targets[0].Error)
			}
		})
	}
}

// TestKeepOnFailureDestroysPeer: --keep-on-failure keeps the failed
// target's guest, the one Outcome.Kept names, and destroys its peer
// (before, the peer was left running, listed nowhere).
func TestKeepOnFailureDestroysPeer(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	o := opts(t, h, d, failCheck, peerCheck)
	o.KeepOnFailure = true
	run, out, err := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"), o)
	if err != nil {
		t.Fatal(err)
	}
	if r := result(t, run.Targets[0], "network.peer"); r.Status != reports.Pass {
		t.Fatalf("peer check: %s %s (the test needs a peer)", r.Status, r.Reason)
	}
	if live := h.names(); len(out.Kept) != 1 || len(live) != 1 || live[0] != out.Kept[0].Guest {
		t.Errorf("kept %v, live %v: want the target's guest alone", out.Kept, live)
	}
}
