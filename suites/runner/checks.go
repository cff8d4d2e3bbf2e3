package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/progress"
	"github.com/virtcert/virtcert/suites"
)

// checks runs the selected checks over the guest's session, one after
// the other, keeping the connection alive between them.
func (x *targetRun) checks(ctx context.Context) {
	x.sink.Checks(len(x.todo))
	x.sink.Phase(progress.Running)
	trips := x.gs.trips.Load()
	defer func() {
		x.r.progress(x.t.ID, "%d checks: %d round trips to the guest", len(x.todo), x.gs.trips.Load()-trips)
	}()
	for i, c := range x.todo {
		if ctx.Err() != nil {
			return
		}
		x.snapshot(ctx, i)
		res := x.check(ctx, c)
		if res == nil {
			return // interrupted: neither kept nor journalled
		}
		// Every result is shown, also a check that could not run (a
		// missing need, a guest already lost): the progress counts reach
		// the total and agree with the target's tally.
		x.r.progress(x.t.ID, "%s %s %s", c.ID, res.Status, res.Reason)
		x.sink.CheckDone(c.ID, res.Status)
		x.r.record(x.t, res)
	}
}

// snapshot gathers the read-only evidence of the block of read-only
// checks that starts at todo[i] in one round trip, or drops the snapshot
// before a check that is not read-only. A failed gather is only noted:
// the checks then run their commands one by one.
func (x *targetRun) snapshot(ctx context.Context, i int) {
	if x.dead != nil || x.tg == nil {
		return
	}
	had := x.tg.Snapshot
	// A check that will not run (a need not met, or the profile skips
	// it, as Execute does) gathers nothing: its commands never reach the
	// guest.
	runs := func(c suites.Check) bool { return x.needs(c) == nil && x.tg.Profile.SkipReason(c.ID) == "" }
	if err := suites.PrepareSnapshot(ctx, x.tg, x.todo, i, runs, x.r.rr.Timeouts.Check.D()); err != nil {
		x.r.progress(x.t.ID, "gathering the read-only evidence failed (%s): its commands run one by one", reports.Clean(err.Error()))
		return
	}
	if s := x.tg.Snapshot; s != nil && s != had {
		x.r.progress(x.t.ID, "read-only evidence: %s", strings.TrimPrefix(s.Note(), "served from the "))
	}
}

// check runs one check, or says why it cannot run. nil: the run was
// interrupted during it (INCOMPLETE, not NOT CERTIFIED: --resume runs it
// again).
func (x *targetRun) check(ctx context.Context, c suites.Check) *reports.Result {
	if x.dead != nil {
		return notRun(c, x.dead, "not run: "+x.dead.Error())
	}
	x.offerHelper(ctx, c)
	if err := x.needs(c); err != nil {
		return notRun(c, err, err.Error())
	}
	c, granted := x.grant(c)
	id := x.t.ID
	x.r.progress(id, "%s ...", c.ID)
	res := execute(ctx, c, x.tg, granted)
	if ctx.Err() != nil && res.Status == reports.Error {
		return nil
	}
	if res.Status == reports.Error && broken(x.tg.OS) {
		res = x.retry(ctx, c, res, granted)
	} else if c.Disruptive {
		x.afterDisruptive(ctx, c)
	}
	return res
}

// grant sets c's timeout to what the run gives it (suites.CheckTimeout):
// at least its waits in the target's profile. When that raised it, the
// evidence entry saying so is returned for every run of the check.
func (x *targetRun) grant(c suites.Check) (suites.Check, *reports.Evidence) {
	own := suites.EffectiveTimeout(c, x.r.rr.Timeouts.Check.D())
	d, raised := suites.CheckTimeout(c, x.r.rr.Timeouts.Check.D(), x.tg)
	c.Timeout = d
	if !raised {
		return c, nil
	}
	why := fmt.Sprintf("the check's waits (%s) in profile %s", strings.Join(c.Waits, " + "), x.tg.Profile.Name)
	if slices.Contains(c.Keys, "boot_factor") {
		why += fmt.Sprintf(", scaled by boot_factor for this guest's boot of %.1fs", x.tg.BootSeconds)
	}
	return c, &reports.Evidence{Step: "time granted",
		Output: fmt.Sprintf("%s instead of %s: %s, plus a minute for its commands", d.Round(time.Second), own.Round(time.Second), why)}
}

// execute runs c with the granted time's evidence first.
func execute(ctx context.Context, c suites.Check, tg *suites.Target, granted *reports.Evidence) *reports.Result {
	res := suites.Execute(ctx, c, tg)
	if granted != nil {
		res.Evidence = append([]reports.Evidence{*granted}, res.Evidence...)
	}
	return res
}

// offerHelper uploads the helper to the guest, and to the peer for a
// two-guest check, before the first check that uses it (suites.UsesHelper).
func (x *targetRun) offerHelper(ctx context.Context, c suites.Check) {
	if !suites.UsesHelper(c) || x.r.opt.ProbePath == "" {
		return
	}
	note := func(f string, a ...any) { x.r.progress(x.t.ID, f, a...) }
	x.gs.ensureHelper(ctx, x.r.opt.ProbePath, note)
	x.tg.Helper = x.gs.helper
	if suites.Needs(c, suites.NeedPeer) && x.peer != nil && x.tg.Peer != nil {
		x.peer.ensureHelper(ctx, x.r.opt.ProbePath, func(f string, a ...any) { note("peer: "+f, a...) })
		x.tg.Peer.Helper = x.peer.helper
	}
}

// retry handles a check that broke its connection: a guest that is gone
// stops the target; otherwise reconnect (with backoff) and run the check
// once more, unless it is disruptive (it may have changed the guest
// already).
func (x *targetRun) retry(ctx context.Context, c suites.Check, res *reports.Result, granted *reports.Evidence) *reports.Result {
	if err := x.gs.gone(ctx); err != nil {
		x.dead = err
		res.Status, res.Reason = statusOf(err), err.Error()+" during this check ("+res.Reason+")"
		return res
	}
	_, err := x.gs.alive(ctx)
	x.follow()
	if err != nil {
		x.dead = &drivers.Error{Class: drivers.ClassHost, Op: "lost the connection to the guest", Err: err}
		x.r.security(x.t.ID, err)
		return res
	}
	if c.Disruptive {
		return res
	}
	// A guest that came back from a reset has lost /tmp.
	x.gs.restoreHelper(ctx, x.r.opt.ProbePath, func(f string, a ...any) { x.r.progress(x.t.ID, f, a...) })
	x.follow()
	x.r.progress(x.t.ID, "%s: connection dropped, retrying once", c.ID)
	again := execute(ctx, c, x.tg, granted)
	again.Retries = res.Retries + 1
	return again
}

// afterDisruptive reconnects after a reboot or a link flap (the old
// connection may be dead) and puts the helper back (a reboot empties
// /tmp). A guest that does not come back stops the target: a crash or
// an unreachable guest is its fault, a changed host key a security
// error.
func (x *targetRun) afterDisruptive(ctx context.Context, c suites.Check) {
	_, err := x.gs.alive(ctx)
	if err == nil {
		x.gs.restoreHelper(ctx, x.r.opt.ProbePath, func(f string, a ...any) { x.r.progress(x.t.ID, f, a...) })
	}
	x.follow()
	if err == nil {
		return
	}
	if gone := x.gs.gone(ctx); gone != nil {
		x.dead = gone
		return
	}
	op := "guest unreachable after " + c.ID
	if x.r.security(x.t.ID, err) {
		x.dead = &drivers.Error{Class: drivers.ClassSecurity, Op: op, Err: err}
		return
	}
	x.dead = guestFault(op, err)
}

// needs checks what c declares it needs: the helper, each capability
// of the guest's driver, and a peer guest. A need that cannot be met is
// a needError (SKIP with the reason); a peer that could not be
// provisioned is the error that said so (ERROR). The peer is judged
// last, whatever the order of c.Needs: a check that would SKIP anyway
// (no helper, a missing capability) is not made an ERROR by a peer that
// failed to boot.
func (x *targetRun) needs(c suites.Check) error {
	for _, n := range c.Needs {
		switch {
		case n == suites.NeedPeer:
		case n == suites.NeedHelper:
			// Not yet offered (offerHelper runs just before the check)
			// counts as there: the snapshot asks before that, and a
			// check that will run must end the read-only block.
			if x.tg.Helper == "" && (x.r.opt.ProbePath == "" || x.gs.offered) {
				return &needError{reason: "the vcprobe helper is not in the guest (the run's first lines, or the note before this check, say why)"}
			}
		default:
			if ok, err := drivers.HasCapability(x.gs.g, n); err != nil || !ok {
				return &needError{reason: "host driver lacks capability: " + n}
			}
		}
	}
	if suites.Needs(c, suites.NeedPeer) && x.tg.Peer == nil {
		if x.peerErr != nil {
			return x.peerErr
		}
		return &needError{reason: "no peer guest"}
	}
	return nil
}
