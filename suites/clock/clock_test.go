package clock

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/parse"
)

func TestJudgeNTP(t *testing.T) {
	unreach := NTPFacts{Installed: true, Tracking: parse.ChronyTracking("Reference ID : 00000000 ()\nLeap status : Not synchronised\n"),
		Sources: parse.ChronySources("^? 192.0.2.1 0 6 0 - +0ns[ +0ns] +/- 0ns\n")}
	if v := JudgeNTP(unreach, 0.1, "skip"); v.Skip == "" || !strings.Contains(v.Skip, "no NTP source reachable") {
		t.Errorf("skip policy: %s", v)
	}
	if v := JudgeNTP(unreach, 0.1, "fail"); !v.Failed() {
		t.Errorf("fail policy: %s", v)
	}
	// A stopped daemon fails whatever the policy.
	down := NTPFacts{Installed: true, Tracking: parse.ChronyTracking("506 Cannot talk to daemon")}
	if v := JudgeNTP(down, 0.1, "skip"); !v.Failed() || v.Skip != "" {
		t.Errorf("stopped daemon: %s", v)
	}
	if !down.Ready() || unreach.Ready() {
		t.Error("Ready: a stopped daemon ends polling, an unsynchronised one does not")
	}
	// Synchronised but far off.
	off := NTPFacts{Installed: true, Tracking: parse.ChronyTracking("Reference ID : C0A89601 (x)\nSystem time : 0.5 seconds fast of NTP time\nLeap status : Normal\n"),
		Sources: parse.ChronySources("^* 192.0.2.1 2 6 377 1 +1us[ +1us] +/- 1ms\n")}
	if v := JudgeNTP(off, 0.1, "fail"); !v.Failed() || !strings.Contains(strings.Join(v.Failures(), ""), "offset") {
		t.Errorf("offset: %s", v)
	}
}

func TestJudgeOffsetAndDrift(t *testing.T) {
	sum := parse.ClockSummary{N: 7, Offset: 3601 * time.Second, Precise: true, MaxError: time.Millisecond}
	if v := JudgeOffset(sum, 5); !v.Failed() {
		t.Error("hour skew accepted")
	}
	sum.Offset = -4 * time.Second
	if v := JudgeOffset(sum, 5); v.Failed() {
		t.Error("negative offset within tolerance rejected")
	}
	if v := JudgeDrift(parse.ClockSummary{N: 9, Precise: false, Span: time.Minute}, 100); v.Skip == "" {
		t.Error("whole-second samples cannot resolve drift: want SKIP")
	}
	if v := JudgeDrift(parse.ClockSummary{N: 9, Precise: true, Span: 30 * time.Second, DriftPPM: -250, RateLo: -280, RateHi: -220, Steady: true}, 100); !v.Failed() {
		t.Error("-250 ppm accepted")
	}
}

func TestJudgeRTCBusybox(t *testing.T) {
	mid := time.Date(2026, 11, 21, 23, 45, 12, 400e6, time.UTC)
	out := "@@@ since_epoch\ncat: can't open '/sys/class/rtc/rtc0/since_epoch': No such file or directory\n@@@ hwclock\nSat Nov 21 23:45:12 2026  0.000000 seconds\n"
	if v := JudgeRTC(out, mid, 10*time.Millisecond, 3); v.Failed() || v.Skip != "" {
		t.Errorf("%s", v)
	}
	if v := JudgeRTC("@@@ since_epoch\n@@@ hwclock\nhwclock: can't open '/dev/misc/rtc'\n", mid, 0, 3); v.Skip == "" {
		t.Errorf("no RTC: want SKIP, got %s", v)
	}
}

// driftWindow is 9 samples over 20 s starting at second 20·w, of a guest
// clock running ppm fast, each round trip rtt, and the guest's reading
// placed err(i) from the middle of its round trip (within ±rtt/2).
func driftWindow(w int, ppm float64, rtt time.Duration, err func(i int) time.Duration) []parse.ClockSample {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	var s []parse.ClockSample
	for i := 0; i < 9; i++ {
		sent := t0.Add(time.Duration(w*20)*time.Second + time.Duration(i)*2500*time.Millisecond)
		read := sent.Add(rtt/2 + err(i))
		guest := read.Add(time.Duration(float64(read.Sub(t0)) * ppm / 1e6))
		s = append(s, parse.ClockSample{Sent: sent, Recv: sent.Add(rtt), Guest: guest, Precise: true})
	}
	return s
}

func noErr(int) time.Duration { return 0 }

// TestJudgeDriftBounds: the verdict stands on the range of rates the
// samples allow, not on the fit. A guest running 2600 ppm fast against a
// 2500 ppm tolerance, read early in its first five round trips and late
// in its last four (20 ms round trips), fits at about 1460 ppm: a judge
// of fit ± 2·(RTT/2)/span PASSed it. Here it is undecided. Clear cases
// PASS and FAIL at once; a step in the clock is not a steady rate.
func TestJudgeDriftBounds(t *testing.T) {
	const tol, rtt = 2500, 20 * time.Millisecond
	skew := func(i int) time.Duration {
		if i < 5 {
			return rtt / 2 // read late
		}
		return -rtt / 2 // read early
	}
	step := func(i int) time.Duration {
		if i >= 5 {
			return 200 * time.Millisecond // read 200 ms late: a step of the guest clock
		}
		return 0
	}
	for _, c := range []struct {
		name      string
		s         []parse.ClockSample
		ppm       float64
		pass, bad bool // bad: not a steady clock
	}{
		{"healthy", driftWindow(0, -925, rtt, noErr), -925, true, false},
		{"tick 5% long", driftWindow(0, 50000, rtt, noErr), 50000, false, false},
		{"2600 ppm read to look slower", driftWindow(0, 2600, rtt, skew), 2600, false, false},
		{"2400 ppm, coarse", driftWindow(0, 2400, rtt, noErr), 2400, false, false},
		{"stepped", driftWindow(0, 0, rtt, step), 0, false, true},
	} {
		sum := parse.SummarizeClock(c.s)
		v := JudgeDrift(sum, tol)
		passed := !v.Failed() && v.Undecided == "" && v.Skip == ""
		if passed != c.pass {
			t.Errorf("%s: passed %v, want %v\n%s", c.name, passed, c.pass, v)
		}
		if math.Abs(c.ppm) <= tol && v.Failed() {
			t.Errorf("%s: a guest within the tolerance FAILed\n%s", c.name, v)
		}
		if math.Abs(c.ppm) > tol && !v.Failed() && v.Undecided == "" {
			t.Errorf("%s: a guest beyond the tolerance PASSed\n%s", c.name, v)
		}
		if c.bad == sum.Steady || (c.bad && !strings.Contains(v.Undecided, "stepped")) {
			t.Errorf("%s: steady %v, undecided %q", c.name, sum.Steady, v.Undecided)
		}
		if !c.bad && (sum.RateLo > c.ppm || sum.RateHi < c.ppm) {
			t.Errorf("%s: range %.0f..%.0f ppm misses the true %g", c.name, sum.RateLo, sum.RateHi, c.ppm)
		}
	}
	if v := JudgeDrift(parse.SummarizeClock(driftWindow(0, 0, rtt, noErr)[:2]), tol); v.Failed() || v.Undecided == "" {
		t.Errorf("two samples: %s; want undecided (an ERROR), not a FAIL", v)
	}
}

// TestDriftSamplesLongerWhenUndecided: a rate undecided over one window is
// sampled over more windows (the range narrows with the span) and then
// judged; one that stays undecided is an ERROR after driftRounds
// windows, never a FAIL or a PASS; the evidence says how many windows.
func TestDriftSamplesLongerWhenUndecided(t *testing.T) {
	run := func(ppm float64, rtt time.Duration) (*reports.Result, int) {
		rounds := 0
		c := suites.Check{ID: "clock.drift", Area: "clock", Title: "t", Timeout: 4 * time.Minute, Run: func(st *suites.T) {
			_, _, v := measureDrift(st, 2500, 20*time.Second, func(step string) []parse.ClockSample {
				rounds++
				return driftWindow(rounds-1, ppm, rtt, noErr)
			})
			st.Judge(v)
		}}
		return suites.Execute(context.Background(), c, &suites.Target{}), rounds
	}
	// 30 ms round trips allow about ±1500 ppm over 20 s, ±750 over 40 s,
	// ±500 over 60 s: 1900 ppm is within after three windows.
	r, n := run(1900, 30*time.Millisecond)
	if r.Status != reports.Pass || n != 3 {
		t.Errorf("undecided, then within: %s after %d windows (%q), want PASS after 3", r.Status, n, r.Reason)
	}
	if !slices.ContainsFunc(r.Evidence, func(e reports.Evidence) bool {
		return strings.Contains(e.Output, "3 of at most 4 windows of 20s: decided")
	}) {
		t.Errorf("evidence does not count the windows: %+v", r.Evidence)
	}
	// 2800 ppm stays across 2500 at ±375 (4 windows): ERROR.
	if r, n := run(2800, 30*time.Millisecond); r.Status != reports.Error || n != driftRounds || !strings.Contains(r.Reason, "lengthen window_seconds") {
		t.Errorf("never decided: %s after %d windows (%q), want ERROR after %d", r.Status, n, r.Reason, driftRounds)
	}
	// A clear fault is decided over the first window.
	if r, n := run(50000, 30*time.Millisecond); r.Status != reports.Fail || n != 1 {
		t.Errorf("5%% fast: %s after %d windows, want FAIL after 1", r.Status, n)
	}
	// No room for another window: ERROR after one, saying why.
	c := suites.Check{ID: "clock.drift", Area: "clock", Title: "t", Timeout: 10 * time.Second, Run: func(st *suites.T) {
		_, _, v := measureDrift(st, 2500, 20*time.Second, func(string) []parse.ClockSample { return driftWindow(0, 2800, 30*time.Millisecond, noErr) })
		st.Judge(v)
	}}
	if r := suites.Execute(context.Background(), c, &suites.Target{}); r.Status != reports.Error || !strings.Contains(r.Reason, "no room for another window") {
		t.Errorf("out of time: %s %q", r.Status, r.Reason)
	}
}

// TestMeasuresAreMagnitudes: a clock 3 s behind, or losing 5000 ppm, is
// measured as 3 and 5000 against thresholds that bound the magnitude
// (Better "lower"); a signed -3 or -5000 would read as comfortably within.
func TestMeasuresAreMagnitudes(t *testing.T) {
	c := suites.Check{ID: "clock.offset", Area: "clock", Title: "t", Timeout: time.Minute, Run: func(st *suites.T) {
		measureOffset(st, "clock.offset", nil, parse.ClockSummary{Offset: -3 * time.Second}, 1)
		st.Judge(JudgeOffset(parse.ClockSummary{N: 7, Offset: -3 * time.Second, Precise: true}, 1))
	}}
	r := suites.Execute(context.Background(), c, &suites.Target{})
	if len(r.Measures) != 1 || r.Measures[0].Value != 3 {
		t.Errorf("offset -3 s measured as %+v, want 3", r.Measures)
	}
	if m := driftMeasure(parse.ClockSummary{DriftPPM: -5000}, nil, 500); m.Value != 5000 || m.Better != "lower" || *m.Threshold != 500 {
		t.Errorf("drift -5000 ppm measured as %+v, want 5000 against 500", m)
	}
}
