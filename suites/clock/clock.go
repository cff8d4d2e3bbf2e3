// Package clock holds the guest clock checks: clocksource, TSC, the
// paravirtual clocks, host–guest offset, drift, monotonicity, NTP sync,
// RTC, and the offset after pause/resume and save/restore. Judges are pure
// functions of parsed data and profile values.
package clock

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/parse"
)

var linux = []string{"linux"}

func init() {
	reg := func(c suites.Check) {
		c.Area = "clock"
		c.OS = linux
		if c.Timeout == 0 {
			c.Timeout = 2 * time.Minute
		}
		suites.Register(c)
	}
	reg(suites.Check{ID: "clock.source", Keys: []string{"expect"}, Priority: 1, Title: "Clocksource is the platform's paravirtual clock",
		Doc: "current_clocksource must be one of the profile's expect list (KVM: kvm-clock or tsc; Hyper-V: " +
			"hyperv_clocksource_tsc_page or tsc; software emulation, with no paravirtual clock: tsc, hpet or " +
			"acpi_pm), and never jiffies or refined-jiffies (tick counting, the kernel's last resort) on any profile.",
		Run: runSource, Reads: []string{suites.ProbeClock}})
	reg(suites.Check{ID: "clock.available", Keys: []string{"min_count", "must_include"}, Priority: 2, Title: "Alternative clocksources available",
		Doc: "available_clocksource lists at least min_count sources including every must_include entry, so " +
			"the kernel can switch when one is found unstable. jiffies and refined-jiffies are never counted " +
			"as alternatives.", Run: runAvailable, Reads: []string{suites.ProbeClock}})
	reg(suites.Check{ID: "clock.tsc-flags", Keys: []string{"require"}, Priority: 2, Title: "TSC CPU flags",
		Doc: "The first CPU's /proc/cpuinfo flags include every profile entry (tsc; constant_tsc and " +
			"nonstop_tsc where the platform exposes an invariant TSC).", Run: runTSCFlags, Reads: []string{suites.ProbeClock}})
	reg(suites.Check{ID: "clock.kvmclock-msrs", Keys: []string{"msrs"}, Priority: 2, Title: "kvm-clock registered its MSRs",
		Doc:         "dmesg shows \"kvm-clock: Using msrs 4b564d01 and 4b564d00\" (the profile's msrs).",
		Hypervisors: []string{"kvm", "qemu"}, Run: runKVMClockMSRs, Reads: []string{suites.ProbeClock}})
	reg(suites.Check{ID: "clock.hyperv-ptp", Keys: []string{"clock_name", "require_device", "require_refclock"}, Priority: 2, Title: "Hyper-V PTP clock present",
		Doc: "A /sys/class/ptp/ptp*/clock_name equals the profile's clock_name (hyperv). /dev/ptp_hyperv and " +
			"a chrony refclock are recorded; they are required only when the profile says so.",
		Hypervisors: []string{"hyperv"}, Run: runHypervPTP, Reads: []string{suites.ProbeClock}})
	reg(suites.Check{ID: "clock.offset", Uses: helperOptional, Keys: []string{"samples", "max_seconds"}, Priority: 1, Title: "Guest clock agrees with the controller",
		Doc: "Takes the profile's number of samples of guest UTC against controller UTC, each corrected by half " +
			"its round-trip time (over one vcprobe clock session when the helper is uploaded, else one " +
			"`date +%s.%N` per sample). The median offset of the best-bounded half must be within max_seconds.",
		Run: runOffset})
	reg(suites.Check{ID: "clock.drift", Uses: helperOptional, Keys: []string{"samples", "window_seconds", "max_ppm"}, Priority: 2, Title: "Guest clock rate against the controller",
		Doc: "Samples the offset across window_seconds; the clock's rate in ppm must be within max_ppm. " +
			"Each sample's offset is known to half its round trip, which bounds the rates a steady clock can have: the check " +
			"FAILs when every such rate is beyond max_ppm and PASSes when every one is within. An undecided rate is " +
			"sampled over up to 4 windows; still undecided, the check is an ERROR (lengthen window_seconds).",
		Waits: []string{"window_seconds", "window_seconds", "window_seconds", "window_seconds"}, Timeout: 4 * time.Minute, Run: runDrift})
	reg(suites.Check{ID: "clock.monotonic", Uses: helperOptional, Keys: []string{"duration_seconds"}, Waits: []string{"duration_seconds"}, Priority: 1, Title: "CLOCK_MONOTONIC never goes backwards",
		Doc: "vcprobe mono reads CLOCK_MONOTONIC in a tight loop for duration_seconds and counts decreases " +
			"(must be 0). Without the helper, a shell loop over /proc/uptime is used (coarser, CLOCK_BOOTTIME).",
		Run: runMonotonic})
	reg(suites.Check{ID: "clock.ntp-sync", Keys: []string{"ready_seconds", "max_offset_seconds", "no_source"}, Priority: 1, Title: "chrony synchronised",
		Doc: "Polls `chronyc -n tracking` until synchronised or ready_seconds pass (never a blind sleep): leap " +
			"status Normal, a selected source in `chronyc -n sources`, |system time offset| within " +
			"max_offset_seconds. SKIPs when chrony is not installed; FAILs when chronyd is stopped or never " +
			"synchronises.", Timeout: 4 * time.Minute, Run: runNTP})
	reg(suites.Check{ID: "clock.rtc", Keys: []string{"max_seconds"}, Priority: 2, Title: "RTC agrees with the controller",
		Doc: "Reads the RTC (/sys/class/rtc/rtc0/since_epoch, else hwclock -u -r) as UTC against controller " +
			"UTC at the middle of the round trip; |Δ| within max_seconds (+1 s for the RTC's whole seconds).",
		Run: runRTC})
	reg(suites.Check{ID: "clock.after-pause", Uses: helperOptional, Keys: []string{"pause_seconds", "max_seconds", "settle_seconds"}, Priority: 2, Title: "Clock recovers after pause/resume",
		Doc: "Host pauses the guest for pause_seconds and resumes it, then sets the guest clock to the controller's " +
			"through the host's guest-set-time where the driver has one (libvirt: the QEMU guest agent, as virsh domtime " +
			"--time); the offset must be back within max_seconds within settle_seconds, and boot_id must not change. " +
			"SKIPs when nothing could recover the clock: no guest-set-time and no time service in the guest.",
		Needs: []string{"PauseResume"}, Disruptive: true, Timeout: 5 * time.Minute, Run: runAfterPause})
	reg(suites.Check{ID: "clock.after-save", Uses: helperOptional, Keys: []string{"max_seconds", "settle_seconds"}, Priority: 2, Title: "Clock recovers after save/restore",
		Doc: "Host saves the guest to disk and restores it, then sets the guest clock as clock.after-pause does; " +
			"the offset must be back within max_seconds within settle_seconds, and boot_id must not change. " +
			"SKIPs when nothing could recover the clock: no guest-set-time and no time service in the guest.",
		Needs: []string{"SaveRestore"}, Disruptive: true, Timeout: 8 * time.Minute, Run: runAfterSave})
}

// Facts is the parsed clock probe.
type Facts struct {
	Current    string
	Available  []string
	ClockEvent string
	CPU        parse.CPUInfo
	Dmesg      []parse.DmesgLine
	PTP        map[string]string // /sys/class/ptp/ptpN -> clock_name
	PTPHyperV  bool
	Refclocks  []string
}

// ParseFacts parses suites.ProbeClock output.
func ParseFacts(out string) Facts {
	s := parse.Sections(out)
	f := Facts{
		CPU:   parse.ParseCPUInfo(s["cpuinfo"]),
		Dmesg: parse.Dmesg(s["dmesg"]),
		PTP:   parse.KeyValues(s["ptp"], "="),
	}
	if c := parse.FirstLine(s["current"]); !parse.Missing(c) {
		f.Current = c
	}
	if a := s["available"]; !parse.Missing(a) {
		f.Available = parse.Words(a)
	}
	if c := parse.FirstLine(s["clockevent"]); !parse.Missing(c) {
		f.ClockEvent = c
	}
	f.PTPHyperV = !parse.Missing(s["ptp-hyperv"])
	for _, l := range strings.Split(s["chrony-refclock"], "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "refclock") {
			f.Refclocks = append(f.Refclocks, strings.TrimSpace(l))
		}
	}
	return f
}

func in(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func gatherFacts(t *suites.T) Facts {
	r := t.Run("read clocksource, CPU flags, PTP", suites.ProbeClock)
	return ParseFacts(string(r.Stdout))
}

// Jiffies reports whether a clocksource counts timer ticks (jiffies,
// refined-jiffies): the kernel's last resort when no hardware clock is
// usable, with a resolution of one tick and no better than the timer
// interrupt. It is never an acceptable current clocksource and never an
// alternative, on any profile (issue 15).
func Jiffies(name string) bool { return name == "jiffies" || name == "refined-jiffies" }

// JudgeSource checks the current clocksource: one of expect, and never a
// jiffies-based one (whatever the profile lists).
func JudgeSource(f Facts, expect []string) suites.Verdict {
	var v suites.Verdict
	act := f.Current
	if act == "" {
		act = "unreadable"
	}
	v.Add("current_clocksource is a hardware clock", f.Current != "" && !Jiffies(f.Current),
		"not jiffies or refined-jiffies (tick counting: the kernel found no usable clock)", act, "", "")
	v.Add("current_clocksource", in(expect, f.Current) && !Jiffies(f.Current), strings.Join(expect, " or "), act, "", "expect")
	return v
}

func runSource(t *suites.T) { t.Judge(JudgeSource(gatherFacts(t), t.Strings("expect"))) }

// JudgeAvailable checks available_clocksource. jiffies-based sources are
// listed in the evidence but never counted, and never satisfy must_include.
func JudgeAvailable(f Facts, minCount int, mustInclude []string) suites.Verdict {
	var v suites.Verdict
	var real, ticks []string
	for _, a := range f.Available {
		if Jiffies(a) {
			ticks = append(ticks, a)
		} else {
			real = append(real, a)
		}
	}
	act := fmt.Sprintf("%d (%s)", len(real), strings.Join(real, " "))
	if len(ticks) > 0 {
		act += "; not counted: " + strings.Join(ticks, " ")
	}
	v.Add("available_clocksource count (jiffies-based not counted)", len(real) >= minCount, fmt.Sprintf(">= %d", minCount), act, "", "min_count")
	for _, m := range mustInclude {
		v.Add("available_clocksource includes "+m, in(real, m), "listed", strings.Join(f.Available, " "), "", "must_include")
	}
	return v
}

func runAvailable(t *suites.T) {
	t.Judge(JudgeAvailable(gatherFacts(t), int(t.Float("min_count")), t.Strings("must_include")))
}

// JudgeTSCFlags checks CPU flags.
func JudgeTSCFlags(f Facts, require []string) suites.Verdict {
	var v suites.Verdict
	if len(f.CPU.Flags) == 0 {
		v.Add("/proc/cpuinfo flags", false, "a flags line", "none readable", "", "require")
		return v
	}
	for _, fl := range require {
		v.Add("CPU flag "+fl, f.CPU.HasFlag(fl), "present", fmt.Sprintf("present=%v", f.CPU.HasFlag(fl)), "", "require")
	}
	return v
}

func runTSCFlags(t *suites.T) { t.Judge(JudgeTSCFlags(gatherFacts(t), t.Strings("require"))) }

// JudgeKVMClockMSRs checks the kvm-clock registration line.
func JudgeKVMClockMSRs(f Facts, msrs []string) suites.Verdict {
	var v suites.Verdict
	got := parse.KVMClockMSRs(f.Dmesg)
	act := "no \"kvm-clock: Using msrs\" line in dmesg"
	ok := false
	if got != nil {
		act = strings.Join(got, " and ")
		ok = len(msrs) == 2 && strings.EqualFold(got[0], msrs[0]) && strings.EqualFold(got[1], msrs[1])
	}
	v.Add("kvm-clock MSRs", ok, strings.Join(msrs, " and "), act, "", "msrs")
	return v
}

func runKVMClockMSRs(t *suites.T) { t.Judge(JudgeKVMClockMSRs(gatherFacts(t), t.Strings("msrs"))) }

// JudgeHypervPTP checks the Hyper-V PTP clock.
func JudgeHypervPTP(f Facts, clockName string, requireDev, requireRefclock bool) suites.Verdict {
	var v suites.Verdict
	var names []string
	ok := false
	for p, n := range f.PTP {
		names = append(names, p+"="+n)
		if n == clockName {
			ok = true
		}
	}
	act := "no PTP clocks"
	if len(names) > 0 {
		act = strings.Join(names, ", ")
	}
	v.Add("PTP clock_name", ok, clockName, act, "", "clock_name")
	v.Add("/dev/ptp_hyperv", f.PTPHyperV || !requireDev, "present (required: "+fmt.Sprint(requireDev)+")", fmt.Sprintf("present=%v", f.PTPHyperV), "", "require_device")
	v.Add("chrony refclock", len(f.Refclocks) > 0 || !requireRefclock, "configured (required: "+fmt.Sprint(requireRefclock)+")",
		fmt.Sprintf("%q", f.Refclocks), "", "require_refclock")
	return v
}

func runHypervPTP(t *suites.T) {
	t.Judge(JudgeHypervPTP(gatherFacts(t), t.String("clock_name"), t.Float("require_device") != 0, t.Float("require_refclock") != 0))
}

// JudgeOffset checks the median offset.
func JudgeOffset(sum parse.ClockSummary, maxSeconds float64) suites.Verdict {
	var v suites.Verdict
	if sum.N == 0 {
		v.Add("clock samples", false, ">= 1", "0", "", "samples")
		return v
	}
	tol := fmt.Sprintf("|offset| <= %gs; sample error <= %.3fs (RTT/2%s)", maxSeconds, sum.MaxError.Seconds(), map[bool]string{false: " + 1 s: date without nanoseconds", true: ""}[sum.Precise])
	v.Add(fmt.Sprintf("median guest-controller offset over %d samples", sum.N), math.Abs(sum.Offset.Seconds()) <= maxSeconds,
		fmt.Sprintf("within ±%gs", maxSeconds), fmt.Sprintf("%+.4fs (min RTT %.1fms)", sum.Offset.Seconds(), ms(sum.MinRTT)), tol, "max_seconds")
	return v
}

func measureOffset(t *suites.T, name string, s []parse.ClockSample, sum parse.ClockSummary, max float64) {
	src := "date"
	if t.Target.Helper != "" {
		src = "vcprobe"
	}
	// The magnitude is what the threshold bounds (|offset| <= max); the
	// sign is in the verdict's evidence and the series.
	t.Measure(reports.Measurement{Name: name, Unit: "s", Value: math.Abs(sum.Offset.Seconds()), Threshold: &max, Better: "lower", Source: src, Series: series(s)})
}

func runOffset(t *suites.T) {
	n := int(t.Float("samples"))
	max := t.Float("max_seconds")
	s := sample(t, "sample guest UTC against controller UTC", n, 200*time.Millisecond)
	sum := parse.SummarizeClock(s)
	measureOffset(t, "clock.offset", s, sum, max)
	t.Judge(JudgeOffset(sum, max))
}

// JudgeDrift checks the clock's rate against ±maxPPM on what the samples
// prove, not on the fit alone: every rate of a steady clock that agrees
// with all the samples within their error (RTT/2) lies in [RateLo,
// RateHi] (parse.DriftBounds). The rate FAILs when that whole range is
// beyond the tolerance and PASSes when it is all within; otherwise it is
// undecided (the caller samples longer; still undecided, the check is an
// ERROR: never a FAIL of a guest that may keep time, nor a PASS of one
// that may not). DriftPPM, the Theil-Sen fit, is the reported value.
func JudgeDrift(sum parse.ClockSummary, maxPPM float64) suites.Verdict {
	var v suites.Verdict
	if !sum.Precise {
		v.Skip = "the guest's date gives whole seconds only and the vcprobe helper is absent: drift cannot be resolved"
		return v
	}
	step := fmt.Sprintf("clock rate over %.1fs (%d samples)", sum.Span.Seconds(), sum.N)
	expected := fmt.Sprintf("within ±%g ppm", maxPPM)
	if sum.N < 3 || sum.Span <= 0 {
		v.NotJudged(step, expected, "too few samples", "samples")
		v.Undecided = fmt.Sprintf("%d samples over %s: a rate needs at least 3 over a window", sum.N, sum.Span)
		return v
	}
	if !sum.Steady {
		v.NotJudged(step, expected, fmt.Sprintf("%+.1f ppm fitted, but no steady rate agrees with every sample within its error", sum.DriftPPM), "max_ppm")
		v.Undecided = "the guest's offsets do not lie on one line within their round trips: its clock was stepped or changed rate during the window"
		return v
	}
	actual := fmt.Sprintf("%+.1f ppm fitted; the samples allow %+.1f to %+.1f ppm", sum.DriftPPM, sum.RateLo, sum.RateHi)
	tol := fmt.Sprintf("±%g ppm, judged on the whole range the samples allow (each offset known to about RTT/2)", maxPPM)
	switch {
	case sum.RateLo > maxPPM || sum.RateHi < -maxPPM:
		v.Add(step, false, expected, actual, tol, "max_ppm")
	case sum.RateLo >= -maxPPM && sum.RateHi <= maxPPM:
		v.Add(step, true, expected, actual, tol, "max_ppm")
	default:
		v.NotJudged(step, expected, actual+": the range straddles the tolerance", "max_ppm")
		v.Undecided = fmt.Sprintf("the samples allow %+.1f to %+.1f ppm after %.1fs, across ±%g ppm: the round trips are too slow to tell; lengthen window_seconds",
			sum.RateLo, sum.RateHi, sum.Span.Seconds(), maxPPM)
	}
	return v
}

// driftRounds bounds how many windows clock.drift samples before it
// gives up on an undecided rate (each one narrows the range); its Waits
// name window_seconds that many times.
const driftRounds = 4

func runDrift(t *suites.T) {
	n := int(t.Float("samples"))
	window := time.Duration(t.Float("window_seconds") * float64(time.Second))
	interval := window / time.Duration(max(1, n-1))
	maxPPM := t.Float("max_ppm")
	sum, s, v := measureDrift(t, maxPPM, window, func(step string) []parse.ClockSample { return sample(t, step, n, interval) })
	t.Measure(driftMeasure(sum, s, maxPPM))
	t.Judge(v)
}

// driftMeasure is clock.drift's measurement: the rate's magnitude, as
// the threshold bounds it (the sign is in the evidence).
func driftMeasure(sum parse.ClockSummary, s []parse.ClockSample, maxPPM float64) reports.Measurement {
	return reports.Measurement{Name: "clock.drift", Unit: "ppm", Value: math.Abs(sum.DriftPPM), Threshold: &maxPPM, Better: "lower", Series: series(s)}
}

// measureDrift takes one window of samples, and another while the rate
// is undecided (up to driftRounds windows, while the check's time allows
// one more); a clock that was not steady over the samples so far starts
// again from the next window. It records how many windows it took and
// why it stopped, and returns the last summary, its samples and verdict.
func measureDrift(t *suites.T, maxPPM float64, window time.Duration, take func(step string) []parse.ClockSample) (parse.ClockSummary, []parse.ClockSample, suites.Verdict) {
	var s []parse.ClockSample
	for round := 1; ; round++ {
		step := "sample the offset across the window"
		if round > 1 {
			step = fmt.Sprintf("sample the offset across window %d of at most %d (the rate was undecided)", round, driftRounds)
		}
		s = append(s, take(step)...)
		sum := parse.SummarizeClock(s)
		v := JudgeDrift(sum, maxPPM)
		stop := ""
		switch {
		case v.Skip != "":
			stop = "not judged"
		case v.Undecided == "":
			stop = "decided"
		case round == driftRounds:
			stop = "undecided after the last window"
		case !driftTimeLeft(t, window):
			stop = "undecided, and the check's time left no room for another window"
		}
		if stop != "" {
			t.Evidence(reports.Evidence{Step: "drift windows", Output: fmt.Sprintf("%d of at most %d windows of %s: %s", round, driftRounds, window, stop)})
			if v.Undecided != "" && round < driftRounds {
				v.Undecided += " (" + stop + ")"
			}
			return sum, s, v
		}
		if !sum.Steady {
			// A step or a change of rate: said, then judged on the
			// windows after it.
			t.Evidence(reports.Evidence{Step: "drift windows", Output: fmt.Sprintf("windows up to %d set aside: no steady rate agrees with all %d samples within their round trips (a step or a change of rate; the fit said %+.1f ppm)", round, len(s), sum.DriftPPM)})
			s = nil
		}
	}
}

// driftTimeLeft reports whether another window (and a margin to judge and
// report) fits in what is left of the check's time.
func driftTimeLeft(t *suites.T, window time.Duration) bool {
	dl, ok := t.Context().Deadline()
	return !ok || time.Until(dl) > window+30*time.Second
}

// helperOptional: the clock checks that sample through vcprobe when it is
// in the guest (one session, nanoseconds) and through date otherwise.
var helperOptional = []string{suites.NeedHelper}

// probeUptime is the monotonic fallback: /proc/uptime read with the
// shell's read builtin (no process start per reading).
const probeUptime = `: vc=uptime; i=0; while [ $i -lt 300 ]; do read u x < /proc/uptime; echo "$u"; i=$((i+1)); done`

// JudgeMonotonic checks a monotonic scan.
func JudgeMonotonic(m parse.Mono, source string) suites.Verdict {
	var v suites.Verdict
	if m.Iterations < 2 {
		v.Add("monotonic readings", false, ">= 2 readings", fmt.Sprint(m.Iterations), "", "")
		return v
	}
	v.Add(fmt.Sprintf("%s decreases over %d readings (%.2fs)", source, m.Iterations, m.Seconds), m.Decreases == 0, "0",
		fmt.Sprintf("%d (largest step back %dns, largest gap %.1fms)", m.Decreases, m.MaxBackstepNS, float64(m.MaxGapNS)/1e6), "none", "")
	return v
}

func runMonotonic(t *suites.T) {
	if t.Target.Helper != "" {
		d := t.Float("duration_seconds")
		r := t.Run("scan CLOCK_MONOTONIC", transport.Quote(t.Target.Helper)+" mono -duration "+fmt.Sprintf("%gs", d))
		if m, ok := parse.ParseMono(r.Stdout); ok {
			t.Judge(JudgeMonotonic(m, "CLOCK_MONOTONIC"))
			return
		}
		t.Evidence(reports.Evidence{Step: "vcprobe mono gave no result; falling back to /proc/uptime"})
	}
	r := t.Run("read /proc/uptime 300 times (no helper)", probeUptime)
	xs := parse.Series(string(r.Stdout))
	n, worst := parse.Backwards(xs)
	m := parse.Mono{Iterations: int64(len(xs)), Decreases: int64(n), MaxBackstepNS: int64(worst * 1e9)}
	if len(xs) > 1 {
		m.Seconds = xs[len(xs)-1] - xs[0]
	}
	t.Judge(JudgeMonotonic(m, "/proc/uptime"))
}

// probeChrony reads chrony's state in one session.
var probeChrony = suites.Sections("chrony",
	[2]string{"which", `command -v chronyc || echo 'chronyc: not found'`},
	[2]string{"tracking", `chronyc -n tracking`},
	[2]string{"sources", `chronyc -n sources`},
)

// NTPFacts is one chrony reading.
type NTPFacts struct {
	Installed bool
	Tracking  parse.Tracking
	Sources   []parse.Source
}

// ParseNTP parses probeChrony output.
func ParseNTP(out string) NTPFacts {
	s := parse.Sections(out)
	return NTPFacts{
		Installed: !parse.Missing(s["which"]),
		Tracking:  parse.ChronyTracking(s["tracking"]),
		Sources:   parse.ChronySources(s["sources"]),
	}
}

// Ready reports whether polling can stop: synchronised with a selected
// source, or a state that waiting will not change.
func (f NTPFacts) Ready() bool {
	if !f.Installed || f.Tracking.DaemonDown {
		return true
	}
	if !f.Tracking.Synchronised() {
		return false
	}
	for _, s := range f.Sources {
		if s.Selected {
			return true
		}
	}
	return false
}

// JudgeNTP judges the last chrony reading. noSource is the profile's
// policy when no source was ever reachable: "fail", or "skip" where the
// platform offers no time source to the guest network (the lab).
func JudgeNTP(f NTPFacts, maxOffset float64, noSource string) suites.Verdict {
	var v suites.Verdict
	if !f.Installed {
		v.Skip = "chrony is not installed in the guest (chronyc not found)"
		return v
	}
	if f.Tracking.DaemonDown {
		v.Add("chronyd answers chronyc", false, "running", "506 Cannot talk to daemon (chronyd stopped)", "", "")
		return v
	}
	v.Add("chronyd answers chronyc", f.Tracking.Valid, "tracking report", fmt.Sprintf("valid=%v", f.Tracking.Valid), "", "")
	reachable, selected := 0, ""
	var names []string
	for _, s := range f.Sources {
		names = append(names, s.Mode+s.State+" "+s.Name+" reach "+s.Reach)
		if s.Reachable() {
			reachable++
		}
		if s.Selected {
			selected = s.Name
		}
	}
	if !f.Tracking.Synchronised() && reachable == 0 && noSource == "skip" {
		srcs := "none configured or resolvable"
		if len(names) > 0 {
			srcs = strings.Join(names, "; ")
		}
		v.Skip = fmt.Sprintf("no NTP source reachable from the guest (%s) and the profile says this platform offers none; synchronisation cannot be judged here", srcs)
		return v
	}
	v.Add("leap status", f.Tracking.Synchronised(), "Normal (synchronised)",
		fmt.Sprintf("%q, reference %s (%s) stratum %d", f.Tracking.LeapStatus, f.Tracking.RefID, f.Tracking.RefName, f.Tracking.Stratum), "", "")
	act := "none (" + strings.Join(names, "; ") + ")"
	if selected != "" {
		act = selected
	}
	v.Add("selected source", selected != "", "one source marked *", act, "", "")
	v.Add("system time offset from NTP", math.Abs(f.Tracking.SystemOffset) <= maxOffset, fmt.Sprintf("within ±%gs", maxOffset),
		fmt.Sprintf("%+.6fs", f.Tracking.SystemOffset), fmt.Sprintf("±%gs", maxOffset), "max_offset_seconds")
	return v
}

func runNTP(t *suites.T) {
	ready := time.Duration(t.Float("ready_seconds") * float64(time.Second))
	maxOff, policy := t.Float("max_offset_seconds"), t.String("no_source")
	deadline := time.Now().Add(ready)
	var f NTPFacts
	for polls := 1; ; polls++ {
		// Record only the first and the last reading as evidence.
		r, err := t.Target.OS.Run(t.Context(), transport.Command{Cmd: probeChrony})
		if err != nil {
			t.Errorf("read chrony: transport: %v", err)
		}
		f = ParseNTP(string(r.Stdout))
		if polls == 1 || f.Ready() || !time.Now().Before(deadline) {
			exit := r.Exit
			t.Evidence(reports.Evidence{Step: fmt.Sprintf("chronyc tracking and sources (poll %d)", polls), Command: probeChrony, Exit: &exit, Output: string(r.Stdout), Duration: r.Duration})
		}
		if f.Ready() || !time.Now().Before(deadline) {
			break
		}
		select {
		case <-t.Context().Done():
			t.Errorf("waiting for chrony: %v", t.Context().Err())
		case <-time.After(min(2*time.Second, max(time.Until(deadline), 0))):
		}
	}
	t.Judge(JudgeNTP(f, maxOff, policy))
}

var probeRTC = suites.Sections("rtc",
	[2]string{"since_epoch", `cat /sys/class/rtc/rtc0/since_epoch`},
	[2]string{"hwclock", `[ -r /sys/class/rtc/rtc0/since_epoch ] || $S hwclock -u -r`},
)

// JudgeRTC checks the RTC reading against the controller's time at the
// middle of the round trip.
func JudgeRTC(out string, mid time.Time, rtt time.Duration, maxSeconds float64) suites.Verdict {
	var v suites.Verdict
	s := parse.Sections(out)
	rtc, ok := parse.RTCTime(s["since_epoch"])
	src := "/sys/class/rtc/rtc0/since_epoch"
	if !ok {
		rtc, ok = parse.RTCTime(s["hwclock"])
		src = "hwclock -u -r"
	}
	if !ok {
		v.Skip = "the guest exposes no readable RTC (no /sys/class/rtc/rtc0 and hwclock failed)"
		return v
	}
	d := rtc.Sub(mid).Seconds()
	// The RTC has whole seconds: allow one more.
	lim := maxSeconds + 1 + rtt.Seconds()/2
	v.Add("RTC ("+src+") against controller UTC", math.Abs(d) <= lim, fmt.Sprintf("within ±%gs", maxSeconds),
		fmt.Sprintf("%+.1fs (RTC %s)", d, rtc.Format(time.RFC3339)), fmt.Sprintf("±%gs + 1s resolution + RTT/2", maxSeconds), "max_seconds")
	return v
}

func runRTC(t *suites.T) {
	start := time.Now()
	r := t.Run("read the RTC", probeRTC)
	rtt := time.Since(start)
	t.Judge(JudgeRTC(string(r.Stdout), start.Add(rtt/2), rtt, t.Float("max_seconds")))
}

func readBootID(t *suites.T, step string) string {
	r := t.Run(step, suites.ProbeBootID)
	id := parse.FirstLine(string(r.Stdout))
	if r.Exit != 0 || len(id) < 32 {
		t.Fatalf("%s: no boot_id (exit %d, %q)", step, r.Exit, id)
	}
	return id
}

// settle samples the offset until it is within max or the settle window
// ends; it returns the last summary and how long it took.
func settle(t *suites.T, maxS float64, within time.Duration) (parse.ClockSummary, []parse.ClockSample, time.Duration) {
	start := time.Now()
	for {
		s := sample(t, "offset after resume", 5, 100*time.Millisecond)
		sum := parse.SummarizeClock(s)
		if math.Abs(sum.Offset.Seconds()) <= maxS || time.Since(start) >= within {
			return sum, s, time.Since(start)
		}
		select {
		case <-t.Context().Done():
			t.Errorf("waiting for the clock to settle: %v", t.Context().Err())
		case <-time.After(min(3*time.Second, within-time.Since(start))):
		}
	}
}

// JudgeAfterResume checks the clock and boot_id after a host operation.
func JudgeAfterResume(op string, sum parse.ClockSummary, took time.Duration, maxS, settleS float64, bootBefore, bootAfter string) suites.Verdict {
	v := JudgeOffset(sum, maxS)
	v.Items[0].Step = "offset after " + op + " (" + v.Items[0].Step + ")"
	v.Add("offset back within tolerance in time", math.Abs(sum.Offset.Seconds()) <= maxS && took.Seconds() <= settleS,
		fmt.Sprintf("within %gs of resume", settleS), fmt.Sprintf("%.1fs", took.Seconds()), "", "settle_seconds")
	v.Add("boot_id unchanged across "+op, bootBefore == bootAfter && bootBefore != "", bootBefore, bootAfter, "", "")
	return v
}

func afterHostOp(t *suites.T, op string, do func() error) {
	maxS, settleS := t.Float("max_seconds"), t.Float("settle_seconds")
	before := readBootID(t, "boot_id before "+op)
	start := time.Now()
	err := do()
	t.HostStep("host: "+op, op, "", err, time.Since(start))
	if err != nil {
		t.Errorf("host %s: %v", op, err)
	}
	synced, syncErr := setGuestTime(t, op)
	// Nothing can bring the clock back when the host could not set it and
	// no time service runs in the guest: one reading then, no waiting.
	hopeless := !synced && timeClients(t) == ""
	within := time.Duration(settleS * float64(time.Second))
	if hopeless {
		within = 0
	}
	sum, s, took := settle(t, maxS, within)
	measureOffset(t, "clock.offset.after_"+strings.ReplaceAll(op, "/", "_"), s, sum, maxS)
	after := readBootID(t, "boot_id after "+op)
	if hopeless && math.Abs(sum.Offset.Seconds()) > maxS {
		// A guest built without any time service (the tiny guest) is not
		// judged on recovery; one with an agent or an NTP client that
		// fails to recover is.
		why := "the host offers no guest-set-time"
		if syncErr != nil {
			why = "guest-set-time failed (" + syncErr.Error() + ")"
		}
		t.Skipf("nothing in the guest resyncs its clock after %s: %s and no time service runs (chronyd, ntpd, systemd-timesyncd, Hyper-V time sync); offset %.1fs", op, why, sum.Offset.Seconds())
	}
	t.Judge(JudgeAfterResume(op, sum, took, maxS, settleS, before, after))
}

// setGuestTime sets the guest clock from the controller through the host
// after a resume or restore, as management layers do (virsh domtime
// --time, OpenStack after resume), when the driver can. The agent's
// channel reconnects a moment after a restore, so it is tried for a few
// seconds. It reports whether the host set the time.
func setGuestTime(t *suites.T, op string) (bool, error) {
	ts, ok := t.Target.Guest.(drivers.GuestTimeSync)
	if !ok {
		t.Evidence(reports.Evidence{Step: "host: set the guest clock after " + op, Output: "the host driver has no guest-set-time; the guest's own time service must recover"})
		return false, nil
	}
	start := time.Now()
	attempt, err := t.Retry(setTimeAttempts, setTimePause, func(int) error {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		return ts.SetGuestTime(ctx, time.Now())
	})
	// The attempt it took is shown, never hidden.
	out := fmt.Sprintf("set on attempt %d of at most %d", attempt, setTimeAttempts)
	if err != nil {
		err = fmt.Errorf("%w (after %d attempts)", err, attempt)
	}
	t.HostStep("host: set the guest clock to the controller's through the guest agent after "+op+" (virsh domtime --time)",
		"SetGuestTime", out, err, time.Since(start))
	return err == nil, err
}

// setTimeAttempts and setTimePause bound setGuestTime's tries (tests
// shorten the pause).
var (
	setTimeAttempts = 4
	setTimePause    = 2 * time.Second
)

// probeTimeClients lists the time services running in the guest.
const probeTimeClients = `: vc=time-clients; for p in chronyd ntpd systemd-timesyncd openntpd; do pidof "$p" >/dev/null 2>&1 && echo "$p"; done; ` +
	`[ -d /sys/module/hv_utils ] && echo hv_utils-timesync; true`

func timeClients(t *suites.T) string {
	r := t.Run("time services running in the guest", probeTimeClients)
	return strings.Join(strings.Fields(string(r.Stdout)), " ")
}

func sleepCtx(t *suites.T, d time.Duration) {
	select {
	case <-t.Context().Done():
		t.Errorf("%v", t.Context().Err())
	case <-time.After(d):
	}
}

func runAfterPause(t *suites.T) {
	pr := suites.Need[drivers.PauseResume](t, "PauseResume")
	pause := time.Duration(t.Float("pause_seconds") * float64(time.Second))
	afterHostOp(t, "pause/resume", func() error {
		if err := pr.Pause(t.Context()); err != nil {
			return err
		}
		sleepCtx(t, pause)
		return pr.Resume(t.Context())
	})
}

func runAfterSave(t *suites.T) {
	sr := suites.Need[drivers.SaveRestore](t, "SaveRestore")
	afterHostOp(t, "save/restore", func() error {
		if err := sr.Save(t.Context()); err != nil {
			return err
		}
		return sr.Restore(t.Context())
	})
}
