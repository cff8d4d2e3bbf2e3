package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
)

// TestCheckGetsItsWaits: a check whose own timeout (here 1 s) is shorter
// than what it may wait in the target's profile (lifecycle.reboot on
// kvm-tcg: max_seconds 300, plus a minute) runs with the longer deadline,
// and its evidence says so first, also when the check is run again after
// its first run lost the connection.
func TestCheckGetsItsWaits(t *testing.T) {
	c, ok := suites.Lookup("lifecycle.reboot")
	if !ok {
		t.Fatal("no lifecycle.reboot")
	}
	var left time.Duration
	runs := 0
	c.Timeout, c.Needs, c.Hypervisors, c.OS, c.Disruptive = time.Second, nil, nil, nil, false
	c.Run = func(t *suites.T) {
		dl, _ := t.Context().Deadline()
		left = time.Until(dl)
		if runs++; runs == 1 {
			x := fakeOf(t.Target.OS)
			x.mu.Lock()
			x.broken = errors.New("connection reset")
			x.mu.Unlock()
		}
		t.Run("true", "true")
	}
	h, d := newFakeHost(), &fakeDial{}
	o := opts(t, h, d, c)
	p := testPlan(t, "matrix: [{host: h1, image: tiny}]\n")
	run, _, err := runP(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	if left < 5*time.Minute || left > 6*time.Minute+time.Second {
		t.Errorf("the check had %s, want about 6 minutes (max_seconds 300 + 1m)", left)
	}
	r := result(t, run.Targets[0], "lifecycle.reboot")
	if r.Status != reports.Pass || r.Retries != 1 {
		t.Errorf("%s after %d retries (%q), want PASS after 1", r.Status, r.Retries, r.Reason)
	}
	if len(r.Evidence) == 0 || r.Evidence[0].Step != "time granted" || !strings.Contains(r.Evidence[0].Output, "instead of 1s: the check's waits (max_seconds)") {
		t.Errorf("evidence %+v: want the granted time first", r.Evidence)
	}
}
