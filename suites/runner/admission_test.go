package runner

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
)

// resHost is the fake driver with the HostResources capability.
type resHost struct {
	*fakeHost
	res drivers.Resources
}

func (h *resHost) Resources(ctx context.Context) (drivers.Resources, error) {
	if err := ctx.Err(); err != nil {
		return drivers.Resources{}, drivers.Errorf(drivers.ClassHost, "resources", "%w", err)
	}
	return h.res, nil
}

// withResources makes the options open h with res reported.
func withResources(o testOptions, h *fakeHost, res drivers.Resources) *resHost {
	rh := &resHost{fakeHost: h, res: res}
	o.Openers["libvirt"] = func(context.Context, string, drivers.OpenOptions) (drivers.Host, error) { return rh, nil }
	return rh
}

// gate holds the guests' Address until it is opened (or their ready
// timeout ends).
func gate(h *fakeHost) (open func()) {
	ch := make(chan struct{})
	h.beforeAddr = func(ctx context.Context, _ string) {
		select {
		case <-ch:
		case <-ctx.Done():
		}
	}
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

// onEvent calls f for each progress line that contains sub.
func onEvent(o *testOptions, sub string, f func()) {
	o.Progress = progressFunc(func(_, format string, args ...any) {
		if strings.Contains(format, sub) {
			f()
		}
	})
}

// TestAdmissionWaitsForRoom: two 128 MiB targets may run in parallel,
// but the host has 200 MiB free: the second waits until the first is
// destroyed (never both at once), then runs; neither fails.
func TestAdmissionWaitsForRoom(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	o := opts(t, h, d, okCheck)
	withResources(o, h, drivers.Resources{TotalMemoryMB: 1000, FreeMemoryMB: 200, CPUs: 2})
	open := gate(h)
	waited := 0
	onEvent(&o, "waiting for room", func() { waited++; open() })
	p := testPlan(t, "parallel: 2\nmatrix:\n  - {host: h1, image: tiny}\n  - {host: h1, image: other}\n")
	run, out, err := runP(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	if out.Setup != nil {
		t.Fatalf("setup failed: %v", out.Setup)
	}
	for _, tg := range run.Targets {
		if r := result(t, tg, "platform.ok"); r.Status != reports.Pass {
			t.Errorf("%s: %s %s", tg.ID, r.Status, r.Reason)
		}
	}
	if h.peakMB > 200 {
		t.Errorf("%d MiB of guests at once on a host with 200 MiB free:\n%s", h.peakMB, strings.Join(h.events, "\n"))
	}
	if waited != 1 {
		t.Errorf("%d waits, want 1", waited)
	}
	// provision A, destroy A, provision B, destroy B.
	if ev := h.events; len(ev) != 4 || !strings.HasPrefix(ev[1], "destroy") {
		t.Errorf("events:\n%s", strings.Join(ev, "\n"))
	}
	if left := h.names(); len(left) != 0 {
		t.Errorf("guests left: %v", left)
	}
}

// TestAdmissionTooBig: a guest that could never fit its host is a setup
// error at once, classified (more than the host has: bad input, exit 2;
// more than it had free: host error), not an endless wait, and nothing
// is provisioned. A peer too big for its host makes the peer checks
// ERROR; the target's own checks still run.
func TestAdmissionTooBig(t *testing.T) {
	res := drivers.Resources{TotalMemoryMB: 1000, FreeMemoryMB: 500, CPUs: 2}
	cases := []struct {
		name      string
		mem, cpus int
		class     drivers.Class
		want      string
	}{
		{"more memory than the host has", 2048, 1, drivers.ClassInput, "guest h1/tiny needs 2048 MiB; host h1 has 1000 MiB in all"},
		{"more memory than was free", 600, 1, drivers.ClassHost, "guest h1/tiny needs 600 MiB; host h1 had 500 MiB free (of 1000 MiB)"},
		{"more vCPUs than the host has", 128, 8, drivers.ClassInput, "guest h1/tiny asks for 8 vCPUs; host h1 has 2 CPUs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, d := newFakeHost(), &fakeDial{}
			o := opts(t, h, d, okCheck)
			withResources(o, h, res)
			p := testPlan(t, "matrix: [{host: h1, image: tiny}]\n")
			p.Images["tiny"].MemoryMB, p.Images["tiny"].CPUs = c.mem, c.cpus
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			run, out, err := runP(ctx, p, o)
			if err != nil {
				t.Fatal(err)
			}
			if ctx.Err() != nil {
				t.Fatal("the run waited for room that could never be")
			}
			tg := run.Targets[0]
			if !strings.Contains(tg.Error, c.want) {
				t.Errorf("target error %q, want %q", tg.Error, c.want)
			}
			if r := result(t, tg, "platform.ok"); r.Status != reports.Error {
				t.Errorf("check %s, want ERROR", r.Status)
			}
			if out.Setup == nil || drivers.ClassOf(out.Setup.Errs[0]) != c.class {
				t.Errorf("setup error %v, want class %v", out.Setup, c.class)
			}
			if h.provCount != 0 {
				t.Errorf("%d guests provisioned", h.provCount)
			}
		})
	}
	t.Run("peer too big", func(t *testing.T) {
		h, d := newFakeHost(), &fakeDial{}
		o := opts(t, h, d, okCheck, peerCheck)
		withResources(o, h, res)
		p := testPlan(t, "matrix:\n  - {host: h1, image: tiny}\n  - {host: h1, image: other}\npeer: h1/other\n")
		p.Images["other"].MemoryMB = 400 // 128 + 400 > 500 free
		run, out, err := runP(context.Background(), p, o)
		if err != nil {
			t.Fatal(err)
		}
		tg := run.Targets[0]
		if r := result(t, tg, "network.peer"); r.Status != reports.Error || !strings.Contains(r.Reason, "guest h1/tiny and its peer need 528 MiB") {
			t.Errorf("peer check: %s %q", r.Status, r.Reason)
		}
		if r := result(t, tg, "platform.ok"); r.Status != reports.Pass {
			t.Errorf("own check: %s %s", r.Status, r.Reason)
		}
		if out.Setup == nil {
			t.Error("no setup error for a peer that could never fit")
		}
	})
}

// TestAdmitCancelledWhileWaiting: admit holds nothing when its context
// ends while it waits, also what it took on an earlier host; a run
// cancelled while a target waits leaves no guest and never provisions
// the waiting one.
func TestAdmitCancelledWhileWaiting(t *testing.T) {
	res := drivers.Resources{TotalMemoryMB: 1000, FreeMemoryMB: 200, CPUs: 2}
	t.Run("admit", func(t *testing.T) {
		a, b := &resHost{fakeHost: newFakeHost(), res: res}, &resHost{fakeHost: newFakeHost(), res: res}
		r := &runner{log: slog.New(slog.DiscardHandler), hosts: map[string]*hostConn{"a": {}, "b": {}}}
		hosts := map[string]drivers.Host{"a": a, "b": b}
		busy, err := r.admit(context.Background(), "x", hosts, []need{{host: "b", memMB: 150}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		r.opt.Progress = progressFunc(func(string, string, ...any) { cancel() })
		_, err = r.admit(ctx, "y", hosts, []need{{host: "a", memMB: 100}, {host: "b", memMB: 100}})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("admit: %v, want cancelled", err)
		}
		if !r.hosts["a"].adm.sem.TryAcquire(200) {
			t.Error("host a's memory still held after a cancelled admit")
		}
		busy.release()
		busy.release() // idempotent
		if !r.hosts["b"].adm.sem.TryAcquire(200) {
			t.Error("host b's memory still held after release")
		}
	})
	t.Run("run", func(t *testing.T) {
		h, d := newFakeHost(), &fakeDial{}
		o := opts(t, h, d, okCheck)
		withResources(o, h, res)
		gate(h)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		onEvent(&o, "waiting for room", cancel)
		p := testPlan(t, "parallel: 2\nmatrix:\n  - {host: h1, image: tiny}\n  - {host: h1, image: other}\n")
		run, _, err := runP(ctx, p, o)
		if err != nil {
			t.Fatal(err)
		}
		if run.Complete {
			t.Error("a cancelled run is complete")
		}
		if left := h.names(); len(left) != 0 {
			t.Errorf("guests left: %v", left)
		}
		if h.provCount != 1 {
			t.Errorf("%d guests provisioned, want 1 (the other was waiting)", h.provCount)
		}
	})
}

// TestNoResourcesNoAdmission: a host without the capability is bounded
// by parallel alone (both targets at once).
func TestNoResourcesNoAdmission(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	o := opts(t, h, d, okCheck)
	var mu sync.Mutex
	seen := map[string]bool{}
	open := gate(h)
	inner := h.beforeAddr
	h.beforeAddr = func(ctx context.Context, name string) {
		mu.Lock()
		seen[name] = true
		if len(seen) == 2 {
			open()
		}
		mu.Unlock()
		inner(ctx, name)
	}
	p := testPlan(t, "parallel: 2\nmatrix:\n  - {host: h1, image: tiny}\n  - {host: h1, image: other}\n")
	run, _, err := runP(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(run.Targets, func(tg *reports.Target) bool { return tg.Error == "" }) || h.peakMB != 256 {
		t.Errorf("peak %d MiB, want both guests at once (256)", h.peakMB)
	}
}

// TestKeptGuestReleasesAdmission: with --keep-on-failure, a failed
// target's kept guest stops counting against its host's admission: the
// next target (one at a time, and room for one guest) runs at once
// rather than waiting until the run's timeout and ending INCOMPLETE.
func TestKeptGuestReleasesAdmission(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	o := opts(t, h, d, failCheck)
	o.KeepOnFailure = true
	withResources(o, h, drivers.Resources{TotalMemoryMB: 1000, FreeMemoryMB: 200, CPUs: 2})
	p := parsePlan(t, `name: test
hosts:
  h1: {driver: libvirt, uri: "qemu:///system"}
images:
  tiny: {path: disk.qcow2, memory_mb: 128}
  other: {path: disk.qcow2, memory_mb: 128}
parallel: 1
matrix:
  - {host: h1, image: tiny}
  - {host: h1, image: other}
timeouts: {ready: 2s, provision: 5s, destroy: 1s, run: 20s}
`)
	start := time.Now()
	run, out, err := runP(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the run took %s: a target waited for the kept guest's memory", took)
	}
	for _, tg := range run.Targets {
		if v := tg.Verdict(run.Complete); v != reports.NotCertified || tg.Count()[reports.Fail] != 1 {
			t.Errorf("%s: %s %v, want NOT CERTIFIED with its FAIL", tg.ID, v, tg.Count())
		}
	}
	if len(out.Kept) != 2 {
		t.Errorf("kept %v, want both failed guests", out.Kept)
	}
}
