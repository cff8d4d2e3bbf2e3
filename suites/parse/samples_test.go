package parse

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestDriftBounds: the range holds the true rate whatever each reading's
// place in its round trip; a slow round trip only widens its own
// interval (a sample 300 ms slow does not widen the range much); readings
// that no steady clock explains are not steady.
func TestDriftBounds(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	mk := func(ppm float64, rtts []time.Duration, at func(i int, rtt time.Duration) time.Duration) []ClockSample {
		var s []ClockSample
		for i, rtt := range rtts {
			sent := t0.Add(time.Duration(i) * 5 * time.Second)
			read := sent.Add(at(i, rtt))
			s = append(s, ClockSample{Sent: sent, Recv: sent.Add(rtt), Guest: read.Add(time.Duration(float64(read.Sub(t0)) * ppm / 1e6)), Precise: true})
		}
		return s
	}
	ms := time.Millisecond
	rtts := []time.Duration{4 * ms, 4 * ms, 300 * ms, 4 * ms, 4 * ms}
	for _, at := range []func(int, time.Duration) time.Duration{
		func(_ int, r time.Duration) time.Duration { return r / 2 },
		func(_ int, r time.Duration) time.Duration { return 0 },
		func(i int, r time.Duration) time.Duration { return time.Duration(i%2) * r },
	} {
		lo, hi, steady, ok := DriftBounds(mk(1000, rtts, at))
		if !ok || !steady || lo > 1000 || hi < 1000 {
			t.Errorf("range %.1f..%.1f (steady %v ok %v) misses the true 1000 ppm", lo, hi, steady, ok)
		}
		if hi-lo > 450 {
			t.Errorf("range %.1f..%.1f: the 300 ms sample widened it (4 ms ones over 20 s allow about ±220)", lo, hi)
		}
	}
	stepped := mk(0, []time.Duration{4 * ms, 4 * ms, 4 * ms, 4 * ms}, func(i int, r time.Duration) time.Duration {
		return r/2 + time.Duration(i/2)*time.Second // the clock jumps a second between readings 1 and 2
	})
	if _, _, steady, ok := DriftBounds(stepped); !ok || steady {
		t.Errorf("a clock stepped by a second reads as steady")
	}
	if _, _, _, ok := DriftBounds(mk(0, []time.Duration{4 * ms}, func(int, time.Duration) time.Duration { return 0 })); ok {
		t.Errorf("one sample bounds a rate")
	}
}

// TestDriftBoundsHoldTheRate: over many steady clocks (rates to ±50000
// ppm, round trips of 1-300 ms, each reading anywhere inside its round
// trip, early ones at the start and late ones at the end included), the
// range holds the true rate and the reported fit lies inside the range.
// Without the margin for where the guest read its clock, a fast clock
// read at the ends of slow round trips falls outside.
func TestDriftBoundsHoldTheRate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for k := 0; k < 3000; k++ {
		ppm := (rng.Float64()*2 - 1) * 50000
		n := 3 + rng.IntN(9)
		var s []ClockSample
		for i := 0; i < n; i++ {
			sent := t0.Add(time.Duration(i) * 2500 * time.Millisecond)
			rtt := time.Duration(1+rng.IntN(300)) * time.Millisecond
			at := time.Duration(rng.Float64() * float64(rtt))
			if k%3 == 0 { // the adversarial placement: early at the start, late at the end
				at = map[bool]time.Duration{true: 0, false: rtt}[i < n/2]
			}
			read := sent.Add(at)
			s = append(s, ClockSample{Sent: sent, Recv: sent.Add(rtt), Guest: read.Add(time.Duration(float64(read.Sub(t0)) * ppm / 1e6)), Precise: true})
		}
		sum := SummarizeClock(s)
		if !sum.Steady || sum.RateLo > ppm || sum.RateHi < ppm {
			t.Fatalf("case %d: %.1f ppm outside %.1f..%.1f (steady %v)", k, ppm, sum.RateLo, sum.RateHi, sum.Steady)
		}
		if sum.DriftPPM < sum.RateLo || sum.DriftPPM > sum.RateHi {
			t.Fatalf("case %d: the reported %.1f ppm is outside the range %.1f..%.1f the samples allow", k, sum.DriftPPM, sum.RateLo, sum.RateHi)
		}
	}
}
