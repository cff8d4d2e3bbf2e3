package runner

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
)

// TestHelperNeed: a check that needs vcprobe SKIPs, with the reason, when
// the run has no helper to upload, and runs when it has one.
func TestHelperNeed(t *testing.T) {
	probeCheck := suites.Check{ID: "disk.probe", Area: "disk", Title: "probe", Needs: []string{suites.NeedHelper}, Timeout: 5 * time.Second,
		Run: func(t *suites.T) { t.Run("run vcprobe", t.Target.Helper+" version") }}
	for _, withProbe := range []bool{true, false} {
		h, d := newFakeHost(), &fakeDial{}
		o := opts(t, h, d, okCheck, probeCheck)
		if !withProbe {
			o.ProbePath = ""
		}
		run, _, err := runP(context.Background(), testPlan(t, ""), o)
		if err != nil {
			t.Fatal(err)
		}
		r := result(t, run.Targets[0], "disk.probe")
		switch {
		case withProbe && r.Status != reports.Pass:
			t.Errorf("with the helper: %s %s", r.Status, r.Reason)
		case !withProbe && (r.Status != reports.Skip || !strings.Contains(r.Reason, "vcprobe")):
			t.Errorf("without the helper: %s %q, want SKIP naming vcprobe", r.Status, r.Reason)
		}
	}
}
