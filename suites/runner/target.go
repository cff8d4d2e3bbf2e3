package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/bundle"
	"github.com/virtcert/virtcert/reports/journal"
	"github.com/virtcert/virtcert/reports/progress"
	"github.com/virtcert/virtcert/resolve"
	"github.com/virtcert/virtcert/suites"
)

// targetRun is one target's life, in phases: resolve (open the host, pick
// the profile, select), provision, ready, peer, checks, teardown. Each
// phase is a method; the resources it makes push their cleanups, which
// teardown runs in reverse order.
type targetRun struct {
	r    *runner
	rt   *resolve.Target
	t    *reports.Target
	dir  string
	sink progress.TargetProgress

	h        drivers.Host
	info     drivers.HostInfo
	prof     *suites.Profile
	todo     []suites.Check
	cleanups []func()
	gs       *session     // the guest
	peer     *session     // its peer, when a check needs one
	peerErr  error        // why there is no peer (statusOf decides)
	peerHost drivers.Host // where the peer goes, when one is wanted
	tg       *suites.Target
	dead     error     // why the guest can no longer be checked
	kept     bool      // the guest was kept for debugging: teardown leaves it
	admitted *admitted // the host memory admission gave the guests (nil: none)
	peerDown func()    // destroys the peer (nil: none was provisioned)
}

// target runs one host × image pair from start to destroy.
func (r *runner) target(ctx context.Context, rt *resolve.Target) *reports.Target {
	x := r.begin(rt)
	if ctx.Err() != nil {
		return x.t // interrupted before this target started: nothing recorded
	}
	// Every target that started ends its progress with its verdict and
	// tally: also one whose host could not be opened, or whose checks
	// are all N/A here (nothing to run).
	defer func() { x.sink.Done(x.t.Verdict(!x.t.Finished.IsZero()), x.t.Count()) }()
	if x.resolve(ctx) {
		return r.finish(x.t)
	}
	defer x.teardown()
	x.wantPeer(ctx)
	if x.admit(ctx) {
		return r.finish(x.t)
	}
	// The peer boots while the target boots; it is waited for (and
	// cancelled when the target could not be set up) before teardown.
	peerUp := x.startPeer(ctx)
	if x.provision(ctx) {
		peerUp(false)
		return r.finish(x.t)
	}
	x.ready(ctx)
	peerUp(true)
	x.checks(ctx)
	x.wrapUp(ctx)
	return r.finish(x.t)
}

// begin makes the target's record, carrying over what a resumed run
// finished.
func (r *runner) begin(rt *resolve.Target) *targetRun {
	t := &reports.Target{ID: rt.ID, Host: rt.Host, Image: rt.Image, Compare: rt.Compare, Results: []*reports.Result{}, Started: r.opt.Now().UTC()}
	if prev := r.prev[rt.ID]; prev != nil {
		t.Started, t.Results, t.Artifacts = prev.Started, append(t.Results, prev.Results...), prev.Artifacts
		t.Guest, t.HostInfo, t.Profile = prev.Guest, prev.HostInfo, prev.Profile
	}
	rel := path.Dir(bundle.ArtifactPath(rt.ID, "x"))
	dir := filepath.Join(r.opt.Out, filepath.FromSlash(rel))
	_ = r.dir.MkdirAll(rel, 0o755)
	return &targetRun{r: r, rt: rt, t: t, dir: dir, sink: r.opt.Sink.Target(rt.ID)}
}

// resolve opens the host, picks the profile and selects what runs here:
// what does not apply is SKIPped with the reason. It returns true when
// the target is over (setup failed, interrupted or nothing to run).
func (x *targetRun) resolve(ctx context.Context) (over bool) {
	r, rt, t := x.r, x.rt, x.t
	h, info, err := r.host(ctx, rt.Host)
	if err != nil && ctx.Err() != nil {
		return true
	}
	t.HostInfo = info
	if t.HostInfo.Driver == "" {
		t.HostInfo.Driver = rt.Driver // the plan's, when the host could not say
	}
	// insecure: true is the plan's word, known even when the open failed:
	// every report shows it (drivers.HostInfo.TLSUnverified).
	t.HostInfo.TLSUnverified = identityUnverified(rt.HostSpec)
	if err == nil {
		t.Profile = r.profileName(rt, info)
	}
	r.journal(journal.Record{Type: journal.TargetStarted, Target: t.ID, Host: rt.Host, Image: rt.Image, Compare: t.Compare, Profile: t.Profile, HostInfo: &t.HostInfo})
	if err != nil {
		r.setupFailed(t, rt.Selected, hostFault("host "+rt.Host, err))
		return true
	}
	if x.prof, err = r.profile(t.Profile); err != nil {
		r.setupFailed(t, rt.Selected, drivers.Wrap(drivers.ClassInput, "profile", err))
		return true
	}
	x.h, x.info = h, info
	for _, c := range rt.Selected {
		if r.done[t.ID][c.ID] {
			continue
		}
		if ok, why := c.AppliesTo(info.Hypervisor, rt.OS); !ok {
			r.record(t, notApplicable(c, why))
			continue
		}
		x.todo = append(x.todo, c)
	}
	if len(x.todo) == 0 {
		r.progress(t.ID, "nothing to run")
		t.Finished = r.opt.Now().UTC()
		return true
	}
	return false
}

// provision creates the guest and connects to it. A setup failure gives
// every check the status statusOf decides for it (the console is kept).
func (x *targetRun) provision(ctx context.Context) (over bool) {
	start := time.Now()
	x.sink.Phase(progress.Provisioning)
	gs, err := x.r.provision(ctx, guestReq{h: x.h, hp: x.rt.HostSpec, img: x.rt.ImageSpec, rt: x.rt}, &x.cleanups)
	if err != nil && ctx.Err() != nil {
		// Interrupted while setting up: nothing ran, nothing to record;
		// the target stays unfinished (INCOMPLETE) for --resume.
		return true
	}
	if err != nil {
		x.r.setupFailed(x.t, x.todo, err)
		if gs != nil && gs.g != nil {
			x.r.saveConsole(gs.g, x.dir, x.t)
			if x.r.wantsDiagnostics(true) {
				x.collect(ctx, gs, "the guest never answered (target setup failed)")
			}
		}
		return true
	}
	x.gs = gs
	x.t.Guest.BootSeconds = time.Since(start).Seconds()
	return false
}

// ready records the guest half of the environment and builds what the
// checks see.
func (x *targetRun) ready(ctx context.Context) {
	r, gs, img := x.r, x.gs, x.rt.ImageSpec
	x.t.Guest = reports.GuestInfo{Name: gs.g.Name(), Address: gs.addr, ImagePath: img.Path, BootSeconds: x.t.Guest.BootSeconds,
		Config: map[string]string{"cpus": strconv.Itoa(img.CPUs), "memory_mb": strconv.Itoa(img.MemoryMB),
			"nic_model": cmp.Or(img.NICModel, "paravirtual"), "disk_bus": cmp.Or(img.DiskBus, "paravirtual"),
			"firmware": img.Firmware, "accel": x.info.Accel, "profile": x.t.Profile}}
	if gs.retries > 0 {
		x.t.Guest.Config["provision_retries"] = strconv.Itoa(gs.retries)
	}
	r.fingerprint(ctx, gs, img, x.t)
	r.progress(x.t.ID, "guest %s ready at %s after %.1fs (%s, %s)", gs.g.Name(), gs.addr, x.t.Guest.BootSeconds, cmp.Or(x.t.Guest.Distro, "unknown distro"), cmp.Or(x.t.Guest.Kernel, "unknown kernel"))
	switch g := x.t.Guest; {
	case g.Simulated():
		r.progress(x.t.ID, "SIMULATED guest: %s", g.Identity)
	case g.IdentityError != "":
		r.progress(x.t.ID, "guest nature unknown: %s", g.IdentityError)
	}
	r.journal(journal.Record{Type: journal.TargetProvisioned, Target: x.t.ID, Guest: &x.t.Guest, Resources: []string{"guest " + gs.g.Name()}})
	x.tg = &suites.Target{Host: x.h, HostInfo: x.info, Guest: gs.g, Spec: gs.spec, Profile: x.prof, ConsoleAllow: r.rr.ConsoleAllow,
		Agreement: r.rr.Agreement, BootSeconds: x.t.Guest.BootSeconds}
	x.tg.Reconnect = func(ctx context.Context) (transport.Transport, error) {
		os, err := gs.reconnect(ctx)
		x.follow()
		return os, err
	}
	x.follow()
}

// follow brings what the checks see up to the session: its connection,
// its address (a rebooted guest may have another lease) and the helper
// (a reboot may have taken it away). The session is where they change.
func (x *targetRun) follow() {
	gs := x.gs
	x.tg.OS, x.tg.Address, x.tg.Helper = gs.os, gs.addr, gs.helper
	x.tg.Controller = controllerFor(x.h, gs.addr)
	x.tg.ViaHost = gs.access.Dial != nil
}

// teardown destroys what the target made, in reverse order, unless a
// failed target's guests are kept for debugging.
func (x *targetRun) teardown() {
	if x.kept {
		// Only the failed guest is kept (Outcome.Kept names it): its
		// peer, which nothing lists and no ssh_config reaches, goes.
		if x.peerDown != nil {
			x.sink.Phase(progress.Teardown)
			x.peerDown()
		}
		// A kept guest is the user's now: admission stops counting it,
		// or a target waiting for its memory would wait until the run's
		// timeout and end INCOMPLETE.
		if x.admitted != nil {
			x.admitted.release()
			x.r.progress(x.t.ID, "the kept guest's memory is no longer counted by admission: later guests on its host may not fit")
		}
		return
	}
	x.sink.Phase(progress.Teardown)
	for i := len(x.cleanups) - 1; i >= 0; i-- {
		x.cleanups[i]()
	}
	x.r.journal(journal.Record{Type: journal.TargetDestroyed, Target: x.t.ID})
}

// wrapUp decides whether the target failed, saves the guest's
// diagnostics (on failure, or as the plan or --collect says) and its
// console, removes the helpers and keeps a failed target's guest when
// asked.
func (x *targetRun) wrapUp(ctx context.Context) {
	r, t := x.r, x.t
	if x.dead != nil {
		t.Error = x.dead.Error()
	}
	c := t.Count()
	failed := c[reports.Fail] > 0 || c[reports.Error] > 0 || t.Error != ""
	if r.wantsDiagnostics(failed) {
		why := ""
		if x.dead != nil {
			why = "the guest can no longer be reached: " + reports.Clean(x.dead.Error())
		}
		x.collect(ctx, x.gs, why)
	}
	r.saveConsole(x.gs.g, x.dir, t)
	if x.dead == nil {
		x.gs.removeHelper(ctx)
	}
	if x.peer != nil {
		x.peer.removeHelper(ctx)
	}
	if ctx.Err() == nil {
		t.Finished = r.opt.Now().UTC()
	}
	if failed && r.opt.KeepOnFailure {
		r.keep(t, x.gs, x.dir)
		x.kept = true
	}
}

// notApplicable is the N/A result of a check that does not apply to the
// target's hypervisor or OS, with why.
func notApplicable(c suites.Check, why string) *reports.Result {
	return notRun(c, &naError{reason: why}, why)
}

// notRun is the result of a check that did not run because of err: its
// status is the one statusOf decides, its reason why.
func notRun(c suites.Check, err error, why string) *reports.Result {
	return &reports.Result{Check: c.ID, Area: c.Area, Priority: c.Priority, Title: c.Title, Status: statusOf(err), Reason: why, Started: time.Now()}
}

// security records a host key mismatch met while reconnecting (after a
// reboot): it stops the guest's checks and makes the run exit 2.
func (r *runner) security(id string, err error) bool {
	if _, ok := errors.AsType[*transport.HostKeyError](err); !ok {
		return false
	}
	r.setupErr(drivers.Wrap(drivers.ClassSecurity, id, err))
	return true
}

// setupErr adds a classified setup failure to the outcome.
func (r *runner) setupErr(err error) {
	r.outMu.Lock()
	defer r.outMu.Unlock()
	if r.out.Setup == nil {
		r.out.Setup = &SetupError{}
	}
	r.out.Setup.Errs = append(r.out.Setup.Errs, err)
}

// finish journals the end of a target (only when it ran to its end).
func (r *runner) finish(t *reports.Target) *reports.Target {
	if !t.Finished.IsZero() {
		r.journal(journal.Record{Type: journal.TargetFinished, Target: t.ID, Error: t.Error, Guest: &t.Guest, Artifacts: t.Artifacts})
	}
	return t
}

// record adds a result to the target (replacing an earlier one of the
// same check) and journals it.
func (r *runner) record(t *reports.Target, res *reports.Result) {
	if i := slices.IndexFunc(t.Results, func(old *reports.Result) bool { return old.Check == res.Check }); i >= 0 {
		t.Results[i] = res
	} else {
		t.Results = append(t.Results, res)
	}
	r.journal(journal.Record{Type: journal.CheckResult, Target: t.ID, Result: res})
}

// setupFailed marks the target failed and gives each of its checks the
// status statusOf decides for the setup error, with the reason.
func (r *runner) setupFailed(t *reports.Target, todo []suites.Check, err error) {
	msg := reports.Clean(err.Error())
	t.Error = msg
	r.progress(t.ID, "setup failed: %s", msg)
	r.setupErr(fmt.Errorf("%s: %w", t.ID, err))
	for _, c := range todo {
		if r.done[t.ID][c.ID] {
			continue
		}
		r.record(t, notRun(c, err, "target setup failed: "+msg))
	}
	t.Finished = r.opt.Now().UTC()
}

// controllerFor is the controller's address as the guest sees it, when
// the host knows it.
func controllerFor(h drivers.Host, addr string) string {
	if c, ok := h.(drivers.ControllerAddress); ok {
		return c.Controller(addr)
	}
	return ""
}

// identityUnverified: the plan says insecure: true, or the URI is plain
// http:// (WinRM with NTLM sealing hides the traffic but pins no
// identity). Either way every report carries the TLS banner.
func identityUnverified(h *plan.Host) bool {
	return h.Insecure || strings.HasPrefix(strings.ToLower(h.URI), "http://")
}
