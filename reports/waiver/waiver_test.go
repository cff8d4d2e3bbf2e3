package waiver

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/reportstest"
)

const good = `waivers:
  - check: clock.source
    host: "hyperv-*"
    justification: the simulator has no TSC page
    tracker: https://tracker.example/VC-12
    expires: 2026-12-31
  - check: "console.*"
    image: debian-12
    justification: simulator console endpoint returns 500
    tracker: https://tracker.example/VC-13
    expires: 2026-11-30
  - check: clock.offset
    justification: old drift bug
    tracker: https://tracker.example/VC-3
    expires: 2026-11-18
`

func TestParseErrors(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown key": {"waivers:\n  - check: a\n    justification: j\n    tracker: t\n    expires: 2026-01-01\n    owner: me\n", "line 2"},
		"top unknown": {"waiver:\n  - check: a\n", "field waiver not found"},
		"missing":     {"waivers:\n  - check: a\n    expires: 2026-01-01\n", "missing justification, tracker"},
		"bad date":    {"waivers:\n  - check: a\n    justification: j\n    tracker: t\n    expires: 31/12/2026\n", `expires "31/12/2026"`},
		"bad glob":    {"waivers:\n  - check: \"a[\"\n    justification: j\n    tracker: t\n    expires: 2026-01-01\n", "bad check pattern"},
		"wrong type":  {"waivers:\n  - check: [a]\n    justification: j\n    tracker: t\n    expires: 2026-01-01\n", "line 2"},
		"no expiry":   {"waivers:\n  - check: a\n    justification: j\n    tracker: t\n", "missing expires"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalid containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "w.yaml")
	os.WriteFile(p, []byte("waivers:\n  - check: a\n    bogus: 1\n"), 0o644)
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("err = %v", err)
	}
}

func find(run *reports.Run, target, check string) *reports.Result {
	for _, t := range run.Targets {
		if t.ID == target {
			for _, r := range t.Results {
				if r.Check == check {
					return r
				}
			}
		}
	}
	return nil
}

func TestApply(t *testing.T) {
	ws, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	run := reportstest.Sample()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	Apply(run, ws, now)

	cs := find(run, "hyperv-sim/debian-12", "clock.source")
	if cs.Status != reports.Waived || cs.OriginalStatus != reports.Fail || !strings.Contains(cs.OriginalReason, "hyperv_clocksource_tsc_page") || cs.Waiver == nil || cs.Waiver.Tracker != "https://tracker.example/VC-12" {
		t.Errorf("clock.source on hyperv: %+v", cs)
	}
	// The kvm SKIP of the same check is untouched: only FAIL/ERROR are waived.
	if r := find(run, "lab-kvm/debian-12", "clock.source"); r.Status != reports.Skip || r.Waiver != nil {
		t.Errorf("kvm clock.source touched: %+v", r)
	}
	// ERROR is waivable too (console.* glob, image pattern).
	if r := find(run, "hyperv-sim/debian-12", "console.clean"); r.Status != reports.Waived || r.OriginalStatus != reports.Error {
		t.Errorf("console.clean: %+v", r)
	}
	// Expired: keeps FAIL, says so.
	co := find(run, "hyperv-sim/debian-12", "clock.offset")
	if co.Status != reports.Fail || co.Waiver == nil || !co.Waiver.Expired || len(co.Notes) != 1 || co.Notes[0] != "waiver expired on 2026-11-18 (https://tracker.example/VC-3): no longer applies" {
		t.Errorf("clock.offset: %+v notes %q", co, co.Notes)
	}
	// The throughput FAIL has no waiver.
	if r := find(run, "hyperv-sim/debian-12", "network.throughput"); r.Status != reports.Fail || r.Waiver != nil {
		t.Errorf("network.throughput: %+v", r)
	}
	if len(run.Waivers) != 3 {
		t.Fatalf("run.Waivers = %+v", run.Waivers)
	}
	if w := run.Waivers[2]; !w.Expired || w.Check != "clock.offset" || len(w.Covers) != 1 || w.Covers[0] != "hyperv-sim/debian-12 clock.offset" {
		t.Errorf("expired waiver note: %+v", w)
	}
	if w := run.Waivers[0]; w.Expired || len(w.Covers) != 1 {
		t.Errorf("applied waiver note: %+v", w)
	}
	if v := run.Targets[1].Verdict(true); v != reports.NotCertified {
		t.Errorf("hyperv verdict %s: an expired waiver must not certify", v)
	}

	// Re-applying later: console waiver expired after its last day, so
	// console.clean is an ERROR again, and idempotency restores cleanly.
	Apply(run, ws, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	if r := find(run, "hyperv-sim/debian-12", "console.clean"); r.Status != reports.Error || r.OriginalStatus != "" || !r.Waiver.Expired || !strings.Contains(r.Reason, "HTTP 500") {
		t.Errorf("console.clean after expiry: %+v", r)
	}
	if co := find(run, "hyperv-sim/debian-12", "clock.offset"); len(co.Notes) != 1 {
		t.Errorf("notes duplicated on re-apply: %q", co.Notes)
	}
	// No waivers: everything back to the original verdicts.
	Apply(run, nil, now)
	if cs.Status != reports.Fail || cs.Waiver != nil || run.Waivers != nil {
		t.Errorf("restore: %+v, waivers %v", cs, run.Waivers)
	}
}

func TestExpiryBoundary(t *testing.T) {
	w := Waiver{Expires: Date{time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)}}
	if w.Expired(time.Date(2026, 11, 30, 23, 59, 59, 0, time.UTC)) {
		t.Error("expired during its last day")
	}
	if !w.Expired(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("still valid the day after")
	}
}

func TestWaiveAllCertifies(t *testing.T) {
	ws, _ := Parse([]byte("waivers:\n  - check: \"*\"\n    host: hyperv-sim\n    justification: simulated host\n    tracker: VC-1\n    expires: 2027-01-01\n"))
	run := reportstest.Sample()
	Apply(run, ws, reportstest.Epoch)
	if v := run.Targets[1].Verdict(true); v != reports.Certified {
		t.Errorf("verdict %s with every failure waived", v)
	}
	if c := run.Targets[1].Count(); c[reports.Waived] != 4 || c[reports.Pass] != 4 {
		t.Errorf("counts %v", c)
	}
}
