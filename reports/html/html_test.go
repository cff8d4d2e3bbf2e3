package html

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/reportstest"
)

func renderSample(t testing.TB) []byte {
	t.Helper()
	run := reportstest.Sample()
	// A waived result and an expired-waiver note, as waiver.Apply leaves them.
	r := run.Targets[1].Results[5]
	r.OriginalStatus, r.OriginalReason = r.Status, r.Reason
	r.Status, r.Reason = reports.Waived, "waived: "+r.Reason
	wn := reports.WaiverNote{Check: "network.throughput", Host: "hyperv-*", Justification: "simulator caps throughput", Tracker: "https://tracker.example/VC-7", Expires: reportstest.Epoch.AddDate(0, 1, 0), Covers: []string{"hyperv-sim/debian-12 network.throughput"}}
	r.Waiver = &wn
	exp := reports.WaiverNote{Check: "clock.offset", Justification: "old drift bug", Tracker: "https://tracker.example/VC-3", Expires: reportstest.Epoch.AddDate(0, 0, -3), Expired: true, Covers: []string{"hyperv-sim/debian-12 clock.offset"}}
	run.Targets[1].Results[3].Waiver = &exp
	run.Targets[1].Results[3].Notes = []string{"waiver expired on 2026-11-18 (https://tracker.example/VC-3)"}
	run.Waivers = []reports.WaiverNote{wn, exp}
	var b bytes.Buffer
	if err := Write(&b, run, Options{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRenderBasics(t *testing.T) {
	out := string(renderSample(t))
	if os.Getenv("VIRTCERT_HTML_OUT") != "" {
		os.WriteFile(os.Getenv("VIRTCERT_HTML_OUT"), []byte(out), 0o644)
	}
	for _, bad := range []string{"<script", "\x1b", "[31m", "http://", "<link", "@import", "url("} {
		if strings.Contains(strings.ToLower(out), bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "SIMULATED HOST", "NOT CERTIFIED", "CERTIFIED", "waiver expired on 2026-11-18", "simulator caps throughput"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestRenderEdgeCases(t *testing.T) {
	nan := math.NaN()
	inf := math.Inf(1)
	runs := map[string]*reports.Run{
		"empty":                    {ID: "x"},
		"target error, no results": {ID: "y", Complete: true, Targets: []*reports.Target{{ID: "h/i", Host: "h", Image: "i", Error: "provision: no such image <b>"}}},
		"odd measurements": {ID: "z", Targets: []*reports.Target{{ID: "h/i", Host: "h", Image: "i", Results: []*reports.Result{
			{Check: "a.b", Area: "a", Status: reports.Pass, Measures: []reports.Measurement{
				{Name: "one", Value: 1, Series: []reports.Point{{T: 0, V: 1}}},
				{Name: "nan", Value: nan, Threshold: &inf, Series: []reports.Point{{T: 0, V: nan}, {T: 1, V: inf}}},
				{Name: "zero", Value: 0, Threshold: new(float64)},
			}},
		}}}},
	}
	for name, run := range runs {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, run, Options{}); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if !strings.Contains(out, "</html>") {
				t.Error("truncated page")
			}
			if strings.Contains(out, "NaN") && strings.Contains(out, "<svg") && strings.Contains(out[strings.Index(out, "<svg"):], "NaN,") {
				t.Error("NaN coordinates in a chart")
			}
			if strings.Contains(out, "image <b>") {
				t.Error("unescaped target error")
			}
		})
	}
	var b bytes.Buffer
	Write(&b, runs["empty"], Options{})
	if !strings.Contains(b.String(), `data-verdict="INCOMPLETE"`) {
		t.Error("empty run is not INCOMPLETE")
	}
}

func TestHostileTracker(t *testing.T) {
	run := reportstest.Sample()
	r := run.Targets[1].Results[2]
	wn := reports.WaiverNote{Check: "clock.source", Justification: "<img src=x onerror=alert(1)>", Tracker: "javascript:alert(1)", Expires: reportstest.Epoch}
	r.OriginalStatus, r.Status, r.Waiver = r.Status, reports.Waived, &wn
	run.Waivers = []reports.WaiverNote{wn}
	var b bytes.Buffer
	if err := Write(&b, run, Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, `href="javascript`) || strings.Contains(out, "<img") {
		t.Errorf("hostile waiver rendered live")
	}
	if !strings.Contains(out, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("waiver justification not shown escaped")
	}
}

// The same guest OS as a qcow2 on libvirt and a VHDX on Hyper-V is two plan
// images; compare_as puts them in one group so that their cells are judged
// side by side, and images of different groups are never compared.
func TestCompareGroupHighlightsDifferences(t *testing.T) {
	res := func(st reports.Status) []*reports.Result {
		return []*reports.Result{{Check: "platform.hypervisor", Area: "platform", Status: st, Reason: "x"}}
	}
	render := func(compare string) string {
		run := &reports.Run{ID: "g", Complete: true, Targets: []*reports.Target{
			{ID: "kvm/debian", Host: "kvm", Image: "debian", Compare: compare, Results: res(reports.Pass)},
			{ID: "hv/debian-vhdx", Host: "hv", Image: "debian-vhdx", Compare: compare, Results: res(reports.Fail)},
		}}
		var b bytes.Buffer
		if err := Write(&b, run, Options{}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if out := render("debian-12"); !strings.Contains(out, "differs between hypervisors</span>") {
		t.Errorf("same compare group, PASS vs FAIL: no cell marked as differing")
	}
	if out := render(""); strings.Contains(out, "differs between hypervisors</span>") {
		t.Errorf("different images without compare_as were compared")
	}
}
