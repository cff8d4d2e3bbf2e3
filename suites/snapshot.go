package suites

import (
	"context"
	"time"

	"github.com/virtcert/virtcert/guests/transport"
)

// ReadOnly reports whether c declares the read-only commands it runs: its
// commands may be served from a snapshot, and running it leaves the
// guest as it was.
func ReadOnly(c Check) bool { return len(c.Reads) > 0 && !c.Disruptive }

// PrepareSnapshot is called before todo[i] runs on tg. A check that will
// not run (runs false) changes nothing: it touches no guest. A check that
// is not read-only drops the snapshot first (it may change the guest, or measure
// it: nothing read before it may be served after it). A read-only check
// without a snapshot gets one: the commands of it and of the read-only
// checks that follow it without a break, gathered in one round trip. It
// returns the gather's error, if any (the commands then run one by one).
// runs tells which checks will really run (their needs are met and the
// profile does not skip them): one that will not neither adds commands
// nor breaks the block. limit is the plan's cap on a check's timeout (0:
// none): the gather is bounded by the smallest EffectiveTimeout of the
// block's checks (and by GatherTimeout), so it never outlasts the time
// any of them would have had for its own commands.
func PrepareSnapshot(ctx context.Context, tg *Target, todo []Check, i int, runs func(Check) bool, limit time.Duration) error {
	if runs != nil && !runs(todo[i]) {
		return nil
	}
	if !ReadOnly(todo[i]) {
		tg.Snapshot = nil
		return nil
	}
	if tg.Snapshot != nil && tg.Snapshot.via == tg.OS || tg.OS == nil {
		return nil
	}
	tg.Snapshot = nil
	var cmds []string
	bound := GatherTimeout
	for _, c := range todo[i:] {
		if runs != nil && !runs(c) {
			continue
		}
		if !ReadOnly(c) {
			break
		}
		cmds = append(cmds, c.Reads...)
		if d := EffectiveTimeout(c, limit); d > 0 {
			bound = min(bound, d)
		}
	}
	if len(cmds) == 0 {
		return nil
	}
	gctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	s, err := Gather(gctx, tg.OS, cmds)
	if err != nil {
		// Not tried again for this block: an empty snapshot serves
		// nothing, so its checks run their commands one by one.
		tg.Snapshot = &Snapshot{At: time.Now(), via: tg.OS}
		return err
	}
	tg.Snapshot = s
	return nil
}

// GatherTimeout bounds a gather whose checks allow more.
const GatherTimeout = 2 * time.Minute

// EffectiveTimeout is c's own time: its Timeout, capped by limit (the
// plan's timeouts.check) when limit is positive. CheckTimeout is what a
// run grants.
func EffectiveTimeout(c Check, limit time.Duration) time.Duration {
	if limit > 0 && limit < c.Timeout {
		return limit
	}
	return c.Timeout
}

// CheckTimeout is the time a run gives c on tg: EffectiveTimeout, raised
// to the check's wait budget in tg's profile (Profile.WaitBudget) when
// that is longer. A check is never cut short of its own limits: a reboot
// wait cut by the deadline would read as a guest that never came back (a
// false FAIL), a shutdown wait as an ERROR. raised says so.
func CheckTimeout(c Check, limit time.Duration, tg *Target) (d time.Duration, raised bool) {
	d = EffectiveTimeout(c, limit)
	if tg == nil {
		return d, false
	}
	if b := tg.Profile.WaitBudget(c, tg.BootSeconds); b > d {
		return b, true
	}
	return d, false
}

// exec runs cmd on x, or serves it from the target's snapshot when the
// snapshot holds it and was taken on x. note is "" for a live run, else
// where the output came from.
func (t *T) exec(x transport.Transport, cmd string) (transport.Result, string, error) {
	if t.Target != nil && t.Target.Snapshot != nil {
		if r, ok := t.Target.Snapshot.serve(x, cmd); ok {
			return r, t.Target.Snapshot.Note(), nil
		}
	}
	r, err := x.Run(t.ctx, transport.Command{Cmd: cmd})
	return r, "", err
}

// Read runs cmd in the guest like Run, or serves it from the snapshot,
// but records no evidence: a check that words its own evidence (the
// kernel log's size, not its text) records note with it. A broken
// transport is returned, not ended on.
func (t *T) Read(cmd string) (r transport.Result, note string, err error) {
	return t.exec(t.Target.OS, cmd)
}
