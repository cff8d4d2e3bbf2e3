// Package progress shows a run's progress while it runs: a live view with
// one line per guest on a terminal (mpb bars: phase, check N of M, failures
// so far, verdict), and plain timestamped line logs otherwise (CI logs,
// redirected output). It is user-facing progress only; debug logging goes
// through log/slog elsewhere.
//
// The runner's side:
//
//	sink := progress.New(os.Stderr, progress.IsTerminal(os.Stderr))
//	defer sink.Close()
//	p := sink.Target("lab-kvm/debian-12")
//	p.Phase(progress.Provisioning)
//	p.Phase(progress.Readiness)
//	p.Checks(12)
//	p.CheckDone("clock.offset", reports.Pass)
//	p.Done(reports.Certified, target.Count())
//
// Every method is safe for concurrent use; targets progress in parallel.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/virtcert/virtcert/reports"
)

// Phases the runner reports (free text is allowed too).
const (
	Provisioning = "provisioning"
	Readiness    = "waiting for readiness"
	Running      = "running checks"
	Teardown     = "tearing down"
)

// Sink receives progress for a whole run.
type Sink interface {
	// Target returns the progress handle of one target (host/image).
	// Calling it twice with the same id returns the same handle.
	Target(id string) TargetProgress
	// Close finishes the display (aborting bars of targets that never
	// reported Done) and waits until it is flushed.
	Close()
}

// TargetProgress is one guest's progress.
type TargetProgress interface {
	Phase(phase string)
	Checks(total int)
	CheckDone(check string, st reports.Status)
	// Done ends the target with its verdict and its tally: the
	// target's own Count(), the one the summary table shows too.
	Done(v reports.Verdict, c reports.Counts)
}

// Eventer receives the runner's free-text progress events; the line
// logger is one, so events and progress lines share one format.
type Eventer interface {
	Event(target, format string, args ...any)
}

// IsTerminal reports whether f is a terminal (the live view is used only
// then).
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// New returns a live view on w when tty is true, else a line logger.
func New(w io.Writer, tty bool) Sink {
	if tty {
		return newLive(w, mpb.WithRefreshRate(150*time.Millisecond))
	}
	return &lines{w: w, now: time.Now, targets: map[string]*lineTarget{}}
}

// Nop discards progress.
func Nop() Sink { return nop{} }

type nop struct{}

func (nop) Target(string) TargetProgress         { return nop{} }
func (nop) Close()                               {}
func (nop) Phase(string)                         {}
func (nop) Checks(int)                           {}
func (nop) CheckDone(string, reports.Status)     {}
func (nop) Done(reports.Verdict, reports.Counts) {}

// ---- line logs ----

type lines struct {
	mu      sync.Mutex
	w       io.Writer
	now     func() time.Time
	targets map[string]*lineTarget
}

type lineTarget struct {
	s           *lines
	id          string
	total, done int
}

func (s *lines) Target(id string) TargetProgress {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.targets[id]; ok {
		return t
	}
	t := &lineTarget{s: s, id: reports.Clean(id)}
	s.targets[id] = t
	return t
}

func (s *lines) Close() {}

// Event prints one of the runner's free-text events in the same format
// as the progress lines ("15:04:05 target  text").
func (s *lines) Event(target, format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.printf(reports.Clean(target), "%s", reports.Clean(fmt.Sprintf(format, args...)))
}

// printf writes one whole line with one Write call, so lines of parallel
// targets never interleave. Caller holds s.mu.
func (s *lines) printf(id, format string, args ...any) {
	line := fmt.Sprintf("%s %s  %s\n", s.now().UTC().Format("15:04:05"), id, fmt.Sprintf(format, args...))
	io.WriteString(s.w, line)
}

func (t *lineTarget) Phase(p string) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	t.s.printf(t.id, "%s", reports.Clean(p))
}

func (t *lineTarget) Checks(n int) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	t.total = n
	t.s.printf(t.id, "%d checks to run", n)
}

func (t *lineTarget) CheckDone(check string, st reports.Status) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	t.done++
	t.s.printf(t.id, "check %d/%d %s %s", t.done, t.total, reports.Clean(check), st)
}

func (t *lineTarget) Done(v reports.Verdict, c reports.Counts) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	t.s.printf(t.id, "done: %s (%s)", v, c)
}

// ---- live view ----

type live struct {
	mu      sync.Mutex
	p       *mpb.Progress
	targets map[string]*liveTarget
	order   []*liveTarget
}

type liveTarget struct {
	mu          sync.Mutex
	bar         *mpb.Bar
	phase       string
	total, done int
	counts      reports.Counts
	verdict     reports.Verdict
	final       reports.Counts // the target's tally, from Done
	finished    bool
}

func newLive(w io.Writer, opts ...mpb.ContainerOption) *live {
	return &live{p: mpb.New(append([]mpb.ContainerOption{mpb.WithOutput(w)}, opts...)...), targets: map[string]*liveTarget{}}
}

func (l *live) Target(id string) TargetProgress {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.targets[id]; ok {
		return t
	}
	t := &liveTarget{counts: reports.Counts{}, phase: "queued"}
	name := reports.Clean(id)
	// Total 0: unknown until Checks. It also keeps mpb from completing the
	// bar by itself; Done completes it.
	t.bar = l.p.New(0, mpb.BarStyle().Lbound("[").Filler("=").Tip(">").Padding(" ").Rbound("]"), mpb.BarWidth(30),
		mpb.PrependDecorators(
			decor.Name(name, decor.WC{W: len(name) + 1, C: decor.DindentRight | decor.DSyncWidthR}),
			decor.Any(func(decor.Statistics) string { return t.left() }, decor.WC{C: decor.DindentRight | decor.DSyncWidthR}),
		),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return t.right() })),
	)
	l.targets[id] = t
	l.order = append(l.order, t)
	return t
}

func (t *liveTarget) left() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.total > 0 {
		return fmt.Sprintf("check %d/%d", t.done, t.total)
	}
	return t.phase
}

func (t *liveTarget) right() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.finished {
		return fmt.Sprintf("%s (%s)", t.verdict, t.final)
	}
	if n := t.counts[reports.Fail] + t.counts[reports.Error]; n > 0 {
		return fmt.Sprintf("%d failing", n)
	}
	return ""
}

func (t *liveTarget) Phase(p string) {
	t.mu.Lock()
	t.phase = reports.Clean(p)
	t.mu.Unlock()
}

func (t *liveTarget) Checks(n int) {
	t.mu.Lock()
	t.total = n
	t.phase = Running
	t.mu.Unlock()
	if n > 0 {
		t.bar.SetTotal(int64(n), false)
	}
}

func (t *liveTarget) CheckDone(check string, st reports.Status) {
	t.mu.Lock()
	t.done++
	t.counts[st]++
	t.mu.Unlock()
	t.bar.Increment()
}

func (t *liveTarget) Done(v reports.Verdict, c reports.Counts) {
	t.mu.Lock()
	if t.finished {
		t.mu.Unlock()
		return
	}
	t.finished, t.verdict, t.final = true, v, c
	t.mu.Unlock()
	// Complete the bar at whatever count was reached: a target that
	// errored out early is done, not stuck.
	t.bar.SetTotal(-1, true)
}

func (l *live) Close() {
	l.mu.Lock()
	for _, t := range l.order {
		t.mu.Lock()
		fin := t.finished
		t.mu.Unlock()
		if !fin {
			t.bar.Abort(false)
		}
	}
	l.mu.Unlock()
	l.p.Wait()
}
