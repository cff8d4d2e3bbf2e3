package windows

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
)

// slowClock answers every clock sample an hour ahead, after delay (a
// PowerShell sample on a slow guest).
type slowClock struct {
	delay time.Duration
	calls int
}

func (s *slowClock) Run(ctx context.Context, c transport.Command) (transport.Result, error) {
	s.calls++
	time.Sleep(s.delay)
	return transport.Result{Cmd: c.Cmd, Stdout: []byte(fmt.Sprintf("%.3f\n", float64(time.Now().Add(time.Hour).UnixNano())/1e9))}, nil
}
func (s *slowClock) Upload(context.Context, string, io.Reader, uint32) error { return nil }
func (s *slowClock) Download(context.Context, string, io.Writer) error       { return nil }
func (s *slowClock) Close() error                                            { return nil }

// TestSettleCountsTheClock: the settle poll stops when settle_seconds have
// passed on the clock, samples included; counting 2 s per try ran a third
// try here (three 0.5 s samples a try, settle_seconds 2.8). The pause
// before the last try is cut to what is left of the limit, so no try
// begins after it, and the verdict says when the judged try began.
func TestSettleCountsTheClock(t *testing.T) {
	var waits []time.Duration
	old := sleep
	sleep = func(_ context.Context, d time.Duration) { waits = append(waits, d) }
	defer func() { sleep = old }()
	x := &slowClock{delay: 500 * time.Millisecond}
	p := &suites.Profile{Name: "test", Checks: map[string]map[string]any{"windows.clock.after-pause": {"max_offset_ms": 1000.0, "settle_seconds": 2.8}}}
	c := suites.Check{ID: "windows.clock.after-pause", Area: "clock", Title: "t", Timeout: time.Minute, Run: func(t *suites.T) { settle(t, "pause/resume") }}
	r := suites.Execute(context.Background(), c, &suites.Target{OS: x, Profile: p})
	if r.Status != reports.Fail || !strings.Contains(r.Reason, "offset after pause/resume") {
		t.Errorf("%s %q: want FAIL on the hour's offset", r.Status, r.Reason)
	}
	if x.calls != 6 {
		t.Errorf("%d samples, want 6 (two tries of three: 3 s on the clock after the second)", x.calls)
	}
	if len(waits) != 1 || waits[0] > 1300*time.Millisecond || waits[0] < 1200*time.Millisecond {
		t.Errorf("pauses %v, want one of about 1.3 s (2.8 s less the first try's 1.5 s)", waits)
	}
	if !slices.ContainsFunc(r.Evidence, func(e reports.Evidence) bool { return strings.Contains(e.Step, "(try 2, begun 1.5s after it") }) {
		t.Errorf("the verdict does not say when the judged try began: %+v", r.Evidence)
	}
}
