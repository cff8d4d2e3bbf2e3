package diff

import (
	"bytes"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/reportstest"
)

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
	panic(target + " " + check)
}

func pair() (*reports.Run, *reports.Run) {
	a, b := reportstest.Sample(), reportstest.Sample()
	a.ID, b.ID = "run-a", "run-b"
	// Regression: kvm network.link PASS -> FAIL, with hostile reason.
	r := find(b, "lab-kvm/debian-12", "network.link")
	r.Status, r.Reason = reports.Fail, "link down \x1b[31m<b>x</b>"
	// Fix: hyperv clock.source FAIL -> PASS.
	find(b, "hyperv-sim/debian-12", "clock.source").Status = reports.Pass
	// Changed: hyperv console.clean ERROR -> FAIL; PASS -> SKIP.
	find(b, "hyperv-sim/debian-12", "console.clean").Status = reports.Fail
	find(b, "lab-kvm/tiny", "network.link").Status = reports.Skip
	// Regression through a waiver: PASS -> WAIVED.
	find(b, "lab-kvm/tiny", "platform.hypervisor").Status = reports.Waived
	// Measurements: throughput down 40% (worse), disk +5% (below threshold).
	find(b, "lab-kvm/debian-12", "network.throughput").Measures[0].Value = 564
	find(b, "lab-kvm/debian-12", "disk.integrity").Measures[0].Value = 189
	// Clock offset lower is better: 0.004 -> 0.002 is better.
	find(b, "lab-kvm/debian-12", "clock.offset").Measures[0].Value = 0.002
	// Added and removed checks and targets.
	tb := b.Targets[0]
	tb.Results = append(tb.Results, &reports.Result{Check: "lifecycle.reboot", Area: "lifecycle", Status: reports.Pass})
	b.Targets[2].Results = b.Targets[2].Results[:4] // drop network.link on tiny? keep: index 4 is network.link
	a.Targets = append(a.Targets, &reports.Target{ID: "old-host/img"})
	return a, b
}

func TestCompare(t *testing.T) {
	a, b := pair()
	d := Compare(a, b, Options{})
	ids := func(cs []Change) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.Target+" "+c.Check+" "+string(c.From)+">"+string(c.To))
		}
		return strings.Join(s, "; ")
	}
	if got := ids(d.Regressions); got != "lab-kvm/debian-12 network.link PASS>FAIL; lab-kvm/tiny platform.hypervisor PASS>WAIVED" {
		t.Errorf("regressions: %s", got)
	}
	if got := ids(d.Fixes); got != "hyperv-sim/debian-12 clock.source FAIL>PASS" {
		t.Errorf("fixes: %s", got)
	}
	if got := ids(d.Changed); got != "hyperv-sim/debian-12 console.clean ERROR>FAIL" {
		t.Errorf("changed: %s", got)
	}
	if got := ids(d.Added); got != "lab-kvm/debian-12 lifecycle.reboot >PASS" {
		t.Errorf("added: %s", got)
	}
	if got := ids(d.Removed); got != "lab-kvm/tiny network.link PASS>" {
		t.Errorf("removed: %s", got)
	}
	if len(d.TargetsRemoved) != 1 || d.TargetsRemoved[0] != "old-host/img" || len(d.TargetsAdded) != 0 {
		t.Errorf("targets: +%v -%v", d.TargetsAdded, d.TargetsRemoved)
	}
	if len(d.Measures) != 2 {
		t.Fatalf("measures: %+v", d.Measures)
	}
	if m := d.Measures[0]; m.Name != "tcp.throughput.guest_to_controller" || !m.Worse || m.Rel > -0.39 || m.Rel < -0.41 {
		t.Errorf("throughput change: %+v", m)
	}
	if m := d.Measures[1]; m.Name != "clock.offset" || m.Worse {
		t.Errorf("clock offset change: %+v", m)
	}
	if !d.HasRegressions() || d.Empty() {
		t.Error("flags")
	}
	if d2 := Compare(a, a, Options{}); !d2.Empty() || d2.HasRegressions() {
		t.Errorf("self-diff not empty: %+v", d2)
	}
	// A stricter threshold catches the 5% disk change too.
	if d3 := Compare(a, b, Options{Threshold: 0.01}); len(d3.Measures) != 3 {
		t.Errorf("threshold 1%%: %d measures", len(d3.Measures))
	}
}

func TestRender(t *testing.T) {
	a, b := pair()
	d := Compare(a, b, Options{})
	var txt, html bytes.Buffer
	if err := WriteText(&txt, d); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"virtcert diff run-a -> run-b", "verdict: NOT CERTIFIED -> NOT CERTIFIED", "REGRESSIONS (2)", "network.link", "PASS -> FAIL", "FIXES (1)", "TARGET REMOVED old-host/img", "940 -> 564 Mbit/s (-40.0%, worse)"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, txt.String())
		}
	}
	if strings.ContainsRune(txt.String(), 0x1b) {
		t.Error("ANSI in text output")
	}
	if err := WriteHTML(&html, d); err != nil {
		t.Fatal(err)
	}
	h := html.String()
	for _, want := range []string{`id="regressions"`, "Regressions (2)", "&lt;b&gt;x&lt;/b&gt;", "-40.0% worse"} {
		if !strings.Contains(h, want) {
			t.Errorf("html lacks %q", want)
		}
	}
	for _, bad := range []string{"<b>x</b>", "<script", "http://", "https://", "\x1b"} {
		if strings.Contains(h, bad) {
			t.Errorf("html contains %q", bad)
		}
	}
}

func TestWorseBeyond(t *testing.T) {
	for _, c := range []struct {
		better string
		a, b   float64
		worse  bool
	}{
		{"higher", 1000, 340, true},   // throughput 66% down
		{"higher", 1000, 850, false},  // 15%: within 20%
		{"higher", 1000, 2000, false}, // better
		{"lower", 0.010, 0.025, true}, // latency up 150%
		{"lower", -0.002, 0.0021, false},
		{"lower", -0.002, 0.003, true}, // the magnitude grew by 50%
		{"lower", 0, 0.001, true},
		{"higher", 0, -1, true},
		{"", 1000, 1, false}, // direction unknown
	} {
		if got := worseBeyond(c.better, c.a, c.b, 0.2); got != c.worse {
			t.Errorf("worseBeyond(%q, %g, %g, 20%%) = %v", c.better, c.a, c.b, got)
		}
	}
}

func TestDirection(t *testing.T) {
	for _, c := range []struct {
		m    MeasureChange
		want string
	}{
		{MeasureChange{From: 1000, To: 340, Better: "higher", Worse: true}, "worse"},
		{MeasureChange{From: 340, To: 1000, Better: "higher"}, "better"},
		{MeasureChange{From: -0.002, To: 0.0021, Better: "lower"}, ""}, // the sign flipped, the magnitude barely moved
		{MeasureChange{From: -0.004, To: 0.001, Better: "lower"}, "better"},
		{MeasureChange{From: 1, To: 2}, ""},
	} {
		if got := c.m.Direction(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.m, got, c.want)
		}
	}
}
