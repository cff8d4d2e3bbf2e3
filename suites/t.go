package suites

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
)

// Target is what a check runs against: one guest, reached through its host
// driver and its OS transport, judged with one profile.
type Target struct {
	Host     drivers.Host
	HostInfo drivers.HostInfo
	Guest    drivers.Guest
	Spec     drivers.GuestSpec
	Address  string
	OS       transport.Transport
	Profile  *Profile
	// Controller is the controller's address as the guest sees it (the
	// NAT gateway on the lab), for guest<->controller traffic; empty when
	// unknown.
	Controller string
	// ViaHost is set when the controller reaches the guest only through
	// its host (guest_via: host, an SSH jump): there is no direct path
	// between them, in either direction.
	ViaHost bool
	// Peer is a second guest on the same network, or nil.
	Peer *Peer
	// Helper is the path of the uploaded vcprobe helper in the guest, or
	// "" when it could not be uploaded (checks that need it SKIP).
	Helper string
	// BootSeconds is the guest's own boot-to-ready time in this run (from
	// before the host provisioned it until it answered; the runner's
	// reports.GuestInfo.BootSeconds), 0 when unknown. Lifecycle checks
	// scale their limits by it on emulated platforms (boot_factor).
	BootSeconds float64
	// Reconnect re-dials the OS transport after a reboot or link flap and
	// replaces OS. It is set by the runner.
	Reconnect func(ctx context.Context) (transport.Transport, error)
	// ConsoleAllow is the console allow-list file (the plan's
	// console_allow, else fixtures/console-allow.yaml); "" means none.
	ConsoleAllow string
	// Agreement is the measurement mode (`run --agreement`, plan
	// `agreement: true`): the throughput and IOPS checks also run the
	// reference tools (fio, iperf3) beside vcprobe and report the gap.
	// Off, a certification judges vcprobe's figures alone.
	Agreement bool
	// Snapshot holds the output of the read-only commands gathered in one
	// round trip (PrepareSnapshot); nil when there is none to serve from.
	Snapshot *Snapshot
}

// Peer is a second guest.
type Peer struct {
	Guest   drivers.Guest
	Address string
	OS      transport.Transport
	Helper  string
}

// T is handed to a check. Its methods record evidence on the result; the
// terminal ones (Skipf, Fatalf, Errorf, and Run on a broken transport) stop
// the check like testing.T's FailNow, so they must be called from the
// check's own goroutine.
type T struct {
	ctx    context.Context
	Check  Check
	Target *Target

	mu       sync.Mutex
	res      *reports.Result
	cleanups []func()
}

// NewT is used by the runner and by tests that drive a check directly.
func NewT(ctx context.Context, c Check, tg *Target) *T {
	return &T{ctx: ctx, Check: c, Target: tg, res: &reports.Result{
		Check: c.ID, Area: c.Area, Priority: c.Priority, Title: c.Title, Status: reports.Pass,
	}}
}

// Context is cancelled when the check's timeout passes or the run stops.
func (t *T) Context() context.Context { return t.ctx }

// Result returns the verdict so far.
func (t *T) Result() *reports.Result { return t.res }

// stop is the sentinel panic-free way out of a check (runtime.Goexit).
func (t *T) stop() { runtime.Goexit() }

// Run runs cmd in the guest and records it as evidence. A non-zero exit is
// returned as data. A broken transport or a cancelled context ends the
// check with ERROR (the harness could not observe the guest).
func (t *T) Run(step, cmd string) transport.Result {
	return t.RunOn(t.Target.OS, step, cmd)
}

// RunOn is Run on another transport (a peer's). A command the target's
// snapshot holds for x is served from it, and the evidence says so.
func (t *T) RunOn(x transport.Transport, step, cmd string) transport.Result {
	r, note, err := t.exec(x, cmd)
	exit := r.Exit
	ev := reports.Evidence{Step: step, Command: cmd, Exit: &exit, Output: excerpt(r.Stdout, r.Stderr), Duration: r.Duration, Gathered: note}
	if err != nil {
		ev.Exit = nil
		ev.Output = err.Error()
		t.Evidence(ev)
		t.Errorf("%s: transport: %v", step, err)
	}
	t.Evidence(ev)
	return r
}

// Expect records an expectation. ok=false makes the check FAIL (and it
// goes on, so later evidence is still gathered).
func (t *T) Expect(step string, ok bool, expected, actual, tolerance string) bool {
	t.Evidence(reports.Evidence{Step: step, Expected: expected, Actual: actual, Tolerance: tolerance, OK: &ok, Profile: t.profileName()})
	if !ok {
		t.fail(fmt.Sprintf("%s: expected %s, got %s", step, expected, actual))
	}
	return ok
}

// Evidence appends an observation.
func (t *T) Evidence(e reports.Evidence) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(e.Output) > reports.MaxExcerpt {
		e.Output = e.Output[:reports.MaxExcerpt] + "\n[... truncated]"
	}
	t.res.Evidence = append(t.res.Evidence, e)
}

// Measure records a figure.
func (t *T) Measure(m reports.Measurement) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.res.Measures = append(t.res.Measures, m)
}

// Failf marks the check FAIL and goes on.
func (t *T) Failf(format string, args ...any) { t.fail(fmt.Sprintf(format, args...)) }

// Fatalf marks the check FAIL and stops it.
func (t *T) Fatalf(format string, args ...any) {
	t.fail(fmt.Sprintf(format, args...))
	t.stop()
}

// Errorf marks the check ERROR (harness or host broke) and stops it.
func (t *T) Errorf(format string, args ...any) {
	t.mu.Lock()
	t.res.Status = reports.Error
	t.res.Reason = fmt.Sprintf(format, args...)
	t.mu.Unlock()
	t.stop()
}

// Skipf marks the check SKIP with a reason and stops it.
func (t *T) Skipf(format string, args ...any) {
	t.mu.Lock()
	t.res.Status = reports.Skip
	t.res.Reason = fmt.Sprintf(format, args...)
	t.mu.Unlock()
	t.stop()
}

// Failed reports whether the check has failed so far.
func (t *T) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.res.Status == reports.Fail
}

func (t *T) fail(reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.res.Status == reports.Error {
		return
	}
	if t.res.Status != reports.Fail {
		t.res.Reason = reason
	} else if !strings.Contains(t.res.Reason, "; ...") {
		t.res.Reason += "; ..."
	}
	t.res.Status = reports.Fail
}

// Cleanup registers f to run after the check, in reverse order, even when
// the check stopped early.
func (t *T) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

// Need returns the capability T from the guest or skips with the reason.
func Need[C any](t *T, what string) C {
	c, reason := drivers.Need[C](t.Target.Guest, what)
	if reason != "" {
		t.Skipf("%s", reason)
	}
	return c
}

// Profile value helpers: the check's own section of the active profile.

// Float returns profile value key for this check; a missing key is a
// harness error (profiles are validated on load, so this is a bug).
func (t *T) Float(key string) float64 {
	t.declared(key)
	v, err := t.Target.Profile.Float(t.Check.ID, key)
	if err != nil {
		t.Errorf("profile: %v", err)
	}
	return v
}

// Strings returns a list value for this check.
func (t *T) Strings(key string) []string {
	t.declared(key)
	v, err := t.Target.Profile.Strings(t.Check.ID, key)
	if err != nil {
		t.Errorf("profile: %v", err)
	}
	return v
}

// String returns a string value for this check.
func (t *T) String(key string) string {
	t.declared(key)
	v, err := t.Target.Profile.String(t.Check.ID, key)
	if err != nil {
		t.Errorf("profile: %v", err)
	}
	return v
}

// declared stops the check with ERROR when it reads a profile key it did
// not declare in Check.Keys (when it declares any): undeclared keys escape
// profile validation.
func (t *T) declared(key string) {
	if len(t.Check.Keys) > 0 && !slices.Contains(t.Check.Keys, key) {
		t.Errorf("check %s reads profile key %q it does not declare in Keys", t.Check.ID, key)
	}
}

func (t *T) profileName() string {
	if t.Target == nil || t.Target.Profile == nil {
		return ""
	}
	return t.Target.Profile.Name + ":" + t.Check.ID
}

// Execute runs c against tg with the check's timeout and returns its
// result. A panic in the check is an ERROR, never a crash of the run.
func Execute(ctx context.Context, c Check, tg *Target) *reports.Result {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	t := NewT(ctx, c, tg)
	start := time.Now()
	t.res.Started = start
	if skip := t.Target.Profile.SkipReason(c.ID); skip != "" {
		t.res.Status, t.res.Reason = reports.Skip, skip
		return t.res
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				t.mu.Lock()
				t.res.Status = reports.Error
				t.res.Reason = fmt.Sprintf("check panicked: %v", p)
				t.mu.Unlock()
			}
		}()
		defer t.runCleanups()
		c.Run(t)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		// The check ignores its context; give it a moment, then report.
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if ctx.Err() != nil && t.res.Status == reports.Pass {
		t.res.Status = reports.Error
		t.res.Reason = "timed out after " + c.Timeout.String()
		if errors.Is(ctx.Err(), context.Canceled) {
			t.res.Reason = "cancelled"
		}
	}
	t.res.Duration = time.Since(start)
	// Return a copy: a check that ignored its context may still append.
	r := *t.res
	r.Evidence = append([]reports.Evidence(nil), t.res.Evidence...)
	r.Measures = append([]reports.Measurement(nil), t.res.Measures...)
	return &r
}

func (t *T) runCleanups() {
	t.mu.Lock()
	cs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

func excerpt(stdout, stderr []byte) string {
	s := string(stdout)
	if len(stderr) > 0 {
		s += "\n[stderr]\n" + string(stderr)
	}
	return strings.TrimRight(s, "\n")
}

// Retry is the checks' one bounded retry: it calls f with its try number
// (from 1) until f returns nil, the check's context ends, or attempts
// tries were made, pausing pause between tries. It returns the tries made
// and f's last error; callers show the tries in their evidence, so a
// retry is never hidden. (The runner's retries back off on host errors
// only; a check retries what the guest may miss once.)
func (t *T) Retry(attempts int, pause time.Duration, f func(try int) error) (int, error) {
	var err error
	try := 1
	for ; ; try++ {
		err = f(try)
		if err == nil || try >= attempts || t.Context().Err() != nil {
			return try, err
		}
		select {
		case <-t.Context().Done():
			return try, err
		case <-time.After(pause):
		}
	}
}
