package windows

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
)

func init() {
	reg(suites.Check{ID: "windows.clock.w32time", Priority: 1, Title: "Windows Time service is running",
		Doc: "Inventory: `Get-Service w32time` (Status as text): Running. A stopped w32time leaves the clock to drift " +
			"(its start type may be Manual/trigger-start on a workgroup server, so only the status is judged).",
		Run: runW32time})
	reg(suites.Check{ID: "windows.clock.source", Priority: 2, Title: "w32time syncs from the expected source",
		Keys: []string{"sources"},
		Doc: "Inventory: `w32tm /query /source`. The source must match one of the profile's sources: 'VM IC Time Synchronization " +
			"Provider' (Hyper-V time sync) or 'ntp-peer' (an NTP peer: a host name or address, with w32tm's ',0xN' flags). " +
			"On a guest whose display language (`Get-UICulture`) is not English, a translated source name is not judged (SKIP with the reason).",
		Run: runSource})
	reg(suites.Check{ID: "windows.clock.sync-status", Priority: 2, Title: "w32time reports a successful sync",
		Doc: "Inventory: `w32tm /query /status /verbose`: Leap Indicator not 3 (not synchronized), Stratum 1-15, and a " +
			"Last Successful Sync Time (not 'unspecified'). An error code (0x80070426: not started) FAILs in any language; a report " +
			"translated into a display language other than English is not judged (SKIP with the reason).",
		Run: runSyncStatus})
	reg(suites.Check{ID: "windows.clock.offset", Priority: 1, Title: "Guest clock agrees with the controller",
		Keys: []string{"max_offset_ms", "samples"},
		Doc: "Runs `[DateTime]::UtcNow` as Unix seconds (invariant culture) `samples` times; each sample is compared with the " +
			"controller's UTC at the midpoint of its round trip (half-RTT compensation); the median |offset| must be within max_offset_ms.",
		Run: runOffset})
	reg(suites.Check{ID: "windows.clock.drift", Priority: 2, Title: "Guest clock does not drift from the controller",
		Keys: []string{"window_seconds", "max_ppm"}, Waits: []string{"window_seconds"},
		Doc: "Measures the median offset (`[DateTime]::UtcNow` as in windows.clock.offset, 3 samples), waits window_seconds, measures again: " +
			"the change over the window in ppm must be within max_ppm.",
		Timeout: 10 * time.Minute, Run: runDrift})
	reg(suites.Check{ID: "windows.clock.after-pause", Priority: 2, Title: "Clock is corrected after pause/resume",
		Keys: []string{"pause_seconds", "max_offset_ms", "settle_seconds"}, Waits: []string{"pause_seconds", "settle_seconds"}, Needs: []string{"PauseResume"}, Disruptive: true,
		Doc: "Host: Pause, wait pause_seconds, Resume; then the guest's clock (`[DateTime]::UtcNow`, sampled as windows.clock.offset, every 2 s) must " +
			"come back within max_offset_ms of the controller within settle_seconds.",
		Timeout: 6 * time.Minute, Run: runAfterPause})
	reg(suites.Check{ID: "windows.clock.after-restore", Priority: 2, Title: "Clock is corrected after save/restore",
		Keys: []string{"max_offset_ms", "settle_seconds"}, Waits: []string{"settle_seconds"}, Needs: []string{"SaveRestore"}, Disruptive: true,
		Doc: "Host: Save, then Restore; the guest's clock (`[DateTime]::UtcNow`, sampled as windows.clock.offset, every 2 s) must come back within max_offset_ms of the controller " +
			"within settle_seconds.",
		Timeout: 8 * time.Minute, Run: runAfterRestore})
}

func runW32time(t *suites.T) {
	inv := inventory(t)
	var v suites.Verdict
	s, ok := inv.service("w32time")
	act := "no such service"
	if ok {
		act = fmt.Sprintf("Status %s, StartType %s", s.Status, s.StartType)
	}
	v.Add("service w32time", ok && s.Status == "Running", "Running", act, "", "")
	t.Judge(v)
}

var localSources = []string{"Local CMOS Clock", "Free-running System Clock", "VM IC Time Synchronization Provider"}

var (
	// peerRe is an NTP peer as w32tm names it: a host name or address,
	// with the flags w32tm appends (",0x8"). Not localized, unlike the
	// names of the local sources.
	peerRe = regexp.MustCompile(`^[A-Za-z0-9._:\[\]-]+(,0x[0-9A-Fa-f]+)?$`)
	// hresultRe is a Windows error code (0x80070426: the service has not
	// been started), printed in every display language.
	hresultRe = regexp.MustCompile(`\(0x8[0-9A-Fa-f]{7}\)`)
)

// english reports whether w32tm prints English: the guest's display
// language is English, or unknown (an inventory without uiCulture).
func english(culture string) bool {
	return culture == "" || strings.HasPrefix(strings.ToLower(culture), "en")
}

// localized is why a w32tm answer is not judged: the guest prints it in
// its display language, and this check reads English only.
func localized(culture, what string) string {
	return fmt.Sprintf("the guest's display language is %s and w32tm prints %s in it, which this check cannot read (only English text and error codes are judged)", culture, what)
}

// JudgeSource checks `w32tm /query /source` in the guest's display
// language culture. An NTP peer (host,0xN) and an error code read the
// same in every language; the local sources' names are translated, so on
// a guest not in English a name that is neither is not judged (SKIP with
// the reason), never taken for a peer (a false PASS for a translated
// "Local CMOS Clock") nor failed (a false FAIL for a translated VM IC
// provider).
func JudgeSource(src string, want []string, culture string) suites.Verdict {
	var v suites.Verdict
	src = strings.TrimSpace(src)
	known := slices.ContainsFunc(localSources, func(l string) bool { return strings.EqualFold(l, src) })
	peer := peerRe.MatchString(src) && !known
	if !known && !peer && !hresultRe.MatchString(src) && !english(culture) {
		v.NotJudged("w32tm /query /source", "one of "+strings.Join(want, ", "), localized(culture, "its source ("+quoted(src)+")"), "sources")
		return v
	}
	ok := slices.ContainsFunc(want, func(w string) bool {
		if w == "ntp-peer" {
			return peer
		}
		return strings.EqualFold(w, src)
	})
	v.Add("w32tm /query /source", ok, "one of "+strings.Join(want, ", "), quoted(src), "", "sources")
	return v
}

func runSource(t *suites.T) {
	inv := inventory(t)
	t.Judge(JudgeSource(inv.W32tmSource, t.Strings("sources"), inv.UICulture))
}

var (
	leapRe    = regexp.MustCompile(`(?m)^Leap Indicator:\s*(\d)`)
	stratumRe = regexp.MustCompile(`(?m)^Stratum:\s*(\d+)`)
	lastRe    = regexp.MustCompile(`(?m)^Last Successful Sync Time:\s*(.*?)\s*$`)
)

// JudgeSyncStatus checks `w32tm /query /status /verbose` in the guest's
// display language culture. An error code (a stopped service) fails in
// any language; a report without the English labels on a guest not in
// English is not judged (SKIP with the reason) rather than failed.
func JudgeSyncStatus(status, culture string) suites.Verdict {
	var v suites.Verdict
	leap, stratum, last := "", -1, ""
	if m := leapRe.FindStringSubmatch(status); m != nil {
		leap = m[1]
	}
	if m := stratumRe.FindStringSubmatch(status); m != nil {
		stratum, _ = strconv.Atoi(m[1])
	}
	if m := lastRe.FindStringSubmatch(status); m != nil {
		last = m[1]
	}
	readable := leap != "" && stratum >= 0 && last != ""
	if !readable && strings.TrimSpace(status) != "" && !hresultRe.MatchString(status) && !english(culture) {
		v.NotJudged("w32tm /query /status /verbose", "a status report", localized(culture, "its status report (first line "+quoted(firstLine(status))+")"), "")
		return v
	}
	if strings.TrimSpace(status) == "" || !strings.Contains(status, "Stratum:") {
		v.Add("w32tm /query /status /verbose", false, "a status report", quoted(firstLine(status)), "", "")
		return v
	}
	v.Add("Leap Indicator", leap != "" && leap != "3", "0-2 (3 = not synchronized)", quoted(leap), "", "")
	v.Add("Stratum", stratum >= 1 && stratum <= 15, "1-15 (0 = unspecified, 16 = unsynchronized)", strconv.Itoa(stratum), "", "")
	v.Add("Last Successful Sync Time", last != "" && !strings.EqualFold(last, "unspecified"), "a time", quoted(last), "", "")
	return v
}

func runSyncStatus(t *suites.T) {
	inv := inventory(t)
	t.Judge(JudgeSyncStatus(inv.W32tmStatus, inv.UICulture))
}

const sampleMarker = "# virtcert: windows clock sample"

// probeClock prints the guest's UTC as Unix seconds with a fixed decimal
// point whatever the guest's culture.
const probeClock = sampleMarker + `
(([DateTime]::UtcNow - [DateTime]::new(1970, 1, 1, 0, 0, 0, [DateTimeKind]::Utc)).TotalSeconds).ToString('F6', [Globalization.CultureInfo]::InvariantCulture)`

// sleep waits d or until ctx ends; tests replace it.
var sleep = func(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// offset samples the guest clock n times and returns the median offset
// (guest - controller) in seconds, each sample compensated by half its
// round trip. A sample that does not parse is a harness ERROR.
func offset(t *suites.T, step string, n int) float64 {
	var offs []float64
	for i := range max(n, 1) {
		t0 := time.Now()
		r := t.Run(fmt.Sprintf("%s: sample %d", step, i+1), probeClock)
		t1 := time.Now()
		g, err := strconv.ParseFloat(strings.TrimSpace(string(r.Stdout)), 64)
		if r.Exit != 0 || err != nil {
			t.Errorf("%s: the clock sample did not parse (exit %d): %q", step, r.Exit, firstLine(string(r.Stdout)))
		}
		mid := t0.Add(t1.Sub(t0) / 2)
		offs = append(offs, g-float64(mid.UnixNano())/1e9)
	}
	slices.Sort(offs)
	return offs[len(offs)/2]
}

// JudgeOffset checks a median offset in seconds against max_offset_ms.
func JudgeOffset(step string, off, maxMS float64) suites.Verdict {
	var v suites.Verdict
	v.Add(step, math.Abs(off*1000) <= maxMS, fmt.Sprintf("|offset| <= %g ms", maxMS), fmt.Sprintf("%+.1f ms", off*1000), fmt.Sprintf("%g ms", maxMS), "max_offset_ms")
	return v
}

func runOffset(t *suites.T) {
	maxMS := t.Float("max_offset_ms")
	off := offset(t, "guest UTC against the controller", int(t.Float("samples")))
	t.Measure(reports.Measurement{Name: "windows.clock.offset_ms", Unit: "ms", Value: math.Abs(off * 1000), Threshold: &maxMS, Better: "lower"})
	t.Judge(JudgeOffset("median offset, half-RTT compensated", off, maxMS))
}

// JudgeDrift checks the offset change over a window in ppm.
func JudgeDrift(o1, o2 float64, window time.Duration, maxPPM float64) suites.Verdict {
	var v suites.Verdict
	ppm := (o2 - o1) / window.Seconds() * 1e6
	v.Add("drift over the window", math.Abs(ppm) <= maxPPM, fmt.Sprintf("|drift| <= %g ppm", maxPPM),
		fmt.Sprintf("%+.1f ppm (offset %+.1f ms, then %+.1f ms, %.0fs apart)", ppm, o1*1000, o2*1000, window.Seconds()), fmt.Sprintf("%g ppm", maxPPM), "max_ppm")
	return v
}

func runDrift(t *suites.T) {
	window := time.Duration(t.Float("window_seconds") * float64(time.Second))
	maxPPM := t.Float("max_ppm")
	o1 := offset(t, "offset at the start of the window", 3)
	start := time.Now()
	sleep(t.Context(), window)
	if t.Context().Err() != nil {
		t.Errorf("the check's deadline passed during the drift window")
	}
	o2 := offset(t, "offset at the end of the window", 3)
	// The real wait is at least the window (a replaced sleep in tests
	// takes none: the nominal window stands then).
	t.Judge(JudgeDrift(o1, o2, max(time.Since(start), window), maxPPM))
}

// settle samples the offset every 2 s until it is within maxMS or
// settle_seconds pass, and judges the last one. The time is the clock's,
// not 2 s per try: each try also runs three samples through PowerShell
// (seconds each on a slow guest). No try starts after the limit (the
// last pause is cut to what is left), and the verdict says when the
// judged try was taken. The nominal pauses count too, so a replaced
// sleep (tests) still ends.
func settle(t *suites.T, op string) {
	maxMS, limit := t.Float("max_offset_ms"), t.Float("settle_seconds")
	lim := time.Duration(limit * float64(time.Second))
	var off float64
	var paused, at time.Duration
	start := time.Now()
	tries := 0
	for {
		at = max(time.Since(start), paused)
		tries++
		off = offset(t, fmt.Sprintf("offset after %s, try %d", op, tries), 3)
		elapsed := max(time.Since(start), paused)
		if math.Abs(off*1000) <= maxMS || elapsed >= lim {
			break
		}
		wait := min(2*time.Second, lim-elapsed)
		sleep(t.Context(), wait)
		paused += wait
	}
	t.Judge(JudgeOffset(fmt.Sprintf("offset after %s (try %d, begun %.1fs after it; polled up to %gs)", op, tries, at.Seconds(), limit), off, maxMS))
}

func runAfterPause(t *suites.T) {
	pr := suites.Need[drivers.PauseResume](t, "PauseResume")
	start := time.Now()
	err := pr.Pause(t.Context())
	t.HostStep("host: Pause", "Pause", "", err, time.Since(start))
	if err != nil {
		t.Errorf("host pause: %v", err)
	}
	sleep(t.Context(), time.Duration(t.Float("pause_seconds")*float64(time.Second)))
	start = time.Now()
	err = pr.Resume(t.Context())
	t.HostStep("host: Resume", "Resume", "", err, time.Since(start))
	if err != nil {
		t.Errorf("host resume: %v", err)
	}
	settle(t, "pause/resume")
}

func runAfterRestore(t *suites.T) {
	sr := suites.Need[drivers.SaveRestore](t, "SaveRestore")
	start := time.Now()
	err := sr.Save(t.Context())
	t.HostStep("host: Save", "Save", "", err, time.Since(start))
	if err != nil {
		t.Errorf("host save: %v", err)
	}
	start = time.Now()
	err = sr.Restore(t.Context())
	t.HostStep("host: Restore", "Restore", "", err, time.Since(start))
	if err != nil {
		t.Errorf("host restore: %v", err)
	}
	settle(t, "save/restore")
}
