package parse

import (
	"testing"
	"time"
)

// TestFitErrorCoversTheFit: the drift fit votes with every sample whose
// round trip is within 3×min+20ms, so its error bound is the largest of
// those, not the better half's (MaxError).
func TestFitErrorCoversTheFit(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	var s []ClockSample
	for i, rtt := range []time.Duration{2, 2, 2, 20, 20, 300} {
		sent := t0.Add(time.Duration(i) * time.Second)
		d := rtt * time.Millisecond
		s = append(s, ClockSample{Sent: sent, Recv: sent.Add(d), Guest: sent.Add(d / 2), Precise: true})
	}
	sum := SummarizeClock(s)
	if sum.MaxError != time.Millisecond {
		t.Errorf("MaxError = %v, want 1ms (the better half)", sum.MaxError)
	}
	if sum.FitError != 10*time.Millisecond {
		t.Errorf("FitError = %v, want 10ms (the 20 ms round trips vote; the 300 ms one does not)", sum.FitError)
	}
}
