package clock

import (
	"strings"
	"testing"
	"time"

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
