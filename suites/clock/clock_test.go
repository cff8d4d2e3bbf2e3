package clock

import (
	"context"
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
	if v := JudgeDrift(parse.ClockSummary{N: 9, Precise: true, Span: 30 * time.Second, DriftPPM: -250}, 100); !v.Failed() {
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

// TestJudgeDriftResolution: the rate is decided only beyond the fit's
// resolution (2·FitError/Span). A healthy guest measured through slow
// round trips is not FAILed, and a guest that may drift past the
// tolerance is not PASSed; both are undecided (the check samples longer,
// then ERRORs). Clear cases still PASS and FAIL.
func TestJudgeDriftResolution(t *testing.T) {
	sum := func(ppm float64, fitErr time.Duration) parse.ClockSummary {
		return parse.ClockSummary{N: 9, Precise: true, Span: 20 * time.Second, DriftPPM: ppm, FitError: fitErr}
	}
	const tol = 2500
	for _, c := range []struct {
		name      string
		sum       parse.ClockSummary
		fail, und bool
	}{
		{"healthy, quick round trips", sum(-925, 7*time.Millisecond), false, false},   // ±700 ppm
		{"tick 5% long", sum(50000, 7*time.Millisecond), true, false},                 // far beyond
		{"noisy healthy guest", sum(2600, 10*time.Millisecond), false, true},          // ±1000: was a FAIL
		{"coarse drifting guest", sum(-2000, 10*time.Millisecond), false, true},       // ±1000: may be -3000
		{"beyond even at the far edge", sum(3600, 10*time.Millisecond), true, false},  // 3600-1000 > 2500
		{"within even at the far edge", sum(1400, 10*time.Millisecond), false, false}, // 1400+1000 <= 2500
	} {
		v := JudgeDrift(c.sum, tol)
		if v.Failed() != c.fail || (v.Undecided != "") != c.und {
			t.Errorf("%s: failed %v, undecided %q; want failed %v, undecided %v\n%s", c.name, v.Failed(), v.Undecided, c.fail, c.und, v)
		}
		if len(v.Items) != 1 || !strings.Contains(v.Items[0].Actual+v.Items[0].NotJudged, "fit resolution") {
			t.Errorf("%s: the evidence must show the resolution: %s", c.name, v)
		}
	}
}

// TestDriftSamplesLongerWhenUndecided: a rate undecided over one window is
// sampled over more windows (the resolution shrinks with the span) and
// then judged; one that stays undecided is an ERROR after driftRounds
// windows, never a FAIL or a PASS.
func TestDriftSamplesLongerWhenUndecided(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	// window w of 9 samples over 20 s, guest running ppm fast, each
	// round trip rtt (the error bound is rtt/2).
	win := func(w int, ppm float64, rtt time.Duration) []parse.ClockSample {
		var s []parse.ClockSample
		for i := 0; i < 9; i++ {
			sent := t0.Add(time.Duration(w*20+i*20/8) * time.Second)
			mid := sent.Add(rtt / 2)
			guest := mid.Add(time.Duration(float64(mid.Sub(t0)) * ppm / 1e6))
			s = append(s, parse.ClockSample{Sent: sent, Recv: sent.Add(rtt), Guest: guest, Precise: true})
		}
		return s
	}
	run := func(ppm float64, rtt time.Duration) (*reports.Result, int) {
		rounds := 0
		c := suites.Check{ID: "clock.drift", Area: "clock", Title: "t", Timeout: 4 * time.Minute, Run: func(st *suites.T) {
			_, v := measureDrift(st, 2500, 20*time.Second, func(step string) []parse.ClockSample {
				rounds++
				return win(rounds-1, ppm, rtt)
			})
			st.Judge(v)
		}}
		return suites.Execute(context.Background(), c, &suites.Target{}), rounds
	}
	// 1900 ppm with 30 ms round trips: ±1500 ppm over 20 s and ±750 over
	// 40 s straddle 2500; over 60 s (±500) it is within.
	if r, n := run(1900, 30*time.Millisecond); r.Status != reports.Pass || n != 3 {
		t.Errorf("undecided, then within: %s after %d windows (%q), want PASS after 3", r.Status, n, r.Reason)
	}
	// 2800 ppm: beyond once the resolution is ±250 ppm (120 s > 4 windows),
	// so with 4 windows (±375) it stays undecided: ERROR.
	if r, n := run(2800, 30*time.Millisecond); r.Status != reports.Error || n != driftRounds || !strings.Contains(r.Reason, "lengthen window_seconds") {
		t.Errorf("never decided: %s after %d windows (%q), want ERROR after %d", r.Status, n, r.Reason, driftRounds)
	}
	// A clear fault is decided over the first window.
	if r, n := run(50000, 30*time.Millisecond); r.Status != reports.Fail || n != 1 {
		t.Errorf("5%% fast: %s after %d windows, want FAIL after 1", r.Status, n)
	}
}
