package parse

import (
	"encoding/json"
	"math"
	"sort"
	"time"
)

// ClockSample is one guest clock reading bracketed by the controller's
// send and receive times.
type ClockSample struct {
	Sent, Recv time.Time
	Guest      time.Time
	GuestMono  int64 // CLOCK_MONOTONIC ns, 0 when unknown
	// Precise is false when the guest gave whole seconds only.
	Precise bool
}

// RTT is the round trip of the sample.
func (s ClockSample) RTT() time.Duration { return s.Recv.Sub(s.Sent) }

// Offset is guest minus controller at the middle of the round trip: the
// guest read its clock somewhere inside it, so the error is at most RTT/2
// (plus one second for an imprecise sample).
func (s ClockSample) Offset() time.Duration { return s.Guest.Sub(s.Sent.Add(s.RTT() / 2)) }

// ClockSummary condenses samples.
type ClockSummary struct {
	N int
	// Offset is the median of the better-bounded half (lowest RTTs).
	Offset   time.Duration
	MaxError time.Duration
	MinRTT   time.Duration
	Precise  bool
	// DriftPPM is the slope of offset over controller time (Theil-Sen
	// median of pairwise slopes), in parts per million; 0 with fewer than
	// 2 samples.
	DriftPPM float64
	// Span is the controller time between the first and last sample.
	Span time.Duration
	// RateLo and RateHi bound the clock's rate in ppm: every rate of a
	// straight line (a clock that runs at one rate) through every
	// sample's offset within its error (RTT/2) lies between them
	// (DriftBounds). Steady is false when no straight line fits: the
	// clock was stepped or its rate changed during the samples.
	RateLo, RateHi float64
	Steady         bool
	MonoBackwards  int
}

// sampleError is how far a sample's offset, taken at the middle of its
// round trip, may be off: RTT/2, plus one second when the guest gave
// whole seconds. The guest read its clock somewhere inside the round
// trip, where a clock running at rate r had moved r·RTT/2 from the
// middle; the 10% margin covers any rate up to 100000 ppm, beyond every
// tolerance judged here.
func sampleError(x ClockSample) time.Duration {
	e := x.RTT()/2 + x.RTT()/20 + time.Microsecond
	if !x.Precise {
		e += time.Second
	}
	return e
}

// SummarizeClock computes a ClockSummary.
func SummarizeClock(s []ClockSample) ClockSummary {
	sum := ClockSummary{N: len(s), Precise: true}
	if len(s) == 0 {
		return sum
	}
	by := append([]ClockSample(nil), s...)
	sort.Slice(by, func(i, j int) bool { return by[i].RTT() < by[j].RTT() })
	sum.MinRTT = by[0].RTT()
	best := by[:max(1, (len(by)+1)/2)]
	offs := make([]time.Duration, len(best))
	for i, b := range best {
		offs[i] = b.Offset()
		sum.MaxError = max(sum.MaxError, sampleError(b))
	}
	sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
	sum.Offset = offs[len(offs)/2]
	for i, x := range s {
		if !x.Precise {
			sum.Precise = false
		}
		if i > 0 && x.GuestMono != 0 && s[i-1].GuestMono != 0 && x.GuestMono < s[i-1].GuestMono {
			sum.MonoBackwards++
		}
	}
	sum.Span = s[len(s)-1].Sent.Sub(s[0].Sent)
	if len(s) >= 2 {
		// Theil-Sen: the median of the slopes between every pair of
		// samples. One sample delayed by a slow round trip moves a
		// least-squares fit a lot over a short window; it barely moves
		// the median.
		//
		// A busy host delays several samples at once, not one: on the
		// lab (2 cores, load 11) three of nine round trips took 200-240
		// ms among 3-25 ms ones, their offsets off by up to 100 ms, and
		// the median of all pairs said -1155 ppm for a guest that kept
		// time. A sample's offset is only known to RTT/2, so samples
		// whose round trip is far above the best one do not vote (when
		// at least 3 remain); the offset above already works this way.
		use := s
		var good []ClockSample
		for _, x := range s {
			if x.RTT() <= 3*sum.MinRTT+20*time.Millisecond {
				good = append(good, x)
			}
		}
		if len(good) >= 3 {
			use = good
		}
		var slopes []float64
		for i := range use {
			for j := i + 1; j < len(use); j++ {
				dt := use[j].Sent.Add(use[j].RTT() / 2).Sub(use[i].Sent.Add(use[i].RTT() / 2)).Seconds()
				if dt <= 1e-6 {
					continue
				}
				slopes = append(slopes, (use[j].Offset()-use[i].Offset()).Seconds()/dt)
			}
		}
		if len(slopes) > 0 {
			sort.Float64s(slopes)
			m := slopes[len(slopes)/2]
			if len(slopes)%2 == 0 {
				m = (slopes[len(slopes)/2-1] + m) / 2
			}
			sum.DriftPPM = m * 1e6
		}
		if math.IsNaN(sum.DriftPPM) || math.IsInf(sum.DriftPPM, 0) {
			sum.DriftPPM = 0
		}
	}
	sum.RateLo, sum.RateHi, sum.Steady, _ = DriftBounds(s)
	if sum.Steady {
		// The fit is an estimate; the samples rule out any rate outside
		// [RateLo, RateHi], so the reported rate is kept inside it.
		sum.DriftPPM = min(max(sum.DriftPPM, sum.RateLo), sum.RateHi)
	}
	return sum
}

// DriftBounds bounds the rate (ppm) of a clock that runs at one rate
// through samples, each offset known to within sampleError. For a line
// o(t) = a·t + b through every interval [o_i − e_i, o_i + e_i], a pair
// i < j (t_i < t_j) allows exactly
//
//	((o_j − e_j) − (o_i + e_i)) / (t_j − t_i) ≤ a ≤ ((o_j + e_j) − (o_i − e_i)) / (t_j − t_i)
//
// and a is feasible when it meets every pair's bounds (for a fixed a, an
// intercept b exists when the intervals shifted by a·t_i overlap
// pairwise), so the rates consistent with all samples are [lo, hi]:
// nothing else is claimed, whatever the estimator. A slow round trip only
// widens its own interval. ok is false with fewer than two samples at
// distinct times, steady false when lo > hi (no line fits). The offsets
// are taken at the middle of each round trip (sampleError allows for
// where inside it the guest read its clock).
func DriftBounds(s []ClockSample) (lo, hi float64, steady, ok bool) {
	lo, hi = math.Inf(-1), math.Inf(1)
	for i := range s {
		ti, oi, ei := s[i].Sent.Add(s[i].RTT()/2), s[i].Offset().Seconds(), sampleError(s[i]).Seconds()
		for j := range s {
			tj := s[j].Sent.Add(s[j].RTT() / 2)
			dt := tj.Sub(ti).Seconds()
			if dt <= 1e-6 {
				continue
			}
			oj, ej := s[j].Offset().Seconds(), sampleError(s[j]).Seconds()
			lo = max(lo, ((oj-ej)-(oi+ei))/dt*1e6)
			hi = min(hi, ((oj+ej)-(oi-ei))/dt*1e6)
			ok = true
		}
	}
	return lo, hi, ok && lo <= hi, ok
}

// ClockReply parses one line of `vcprobe clock` output:
// {"seq":N,"real_ns":N,"mono_ns":N}.
func ClockReply(line []byte) (real time.Time, mono int64, ok bool) {
	var r struct {
		Seq    int   `json:"seq"`
		RealNS int64 `json:"real_ns"`
		MonoNS int64 `json:"mono_ns"`
	}
	if err := json.Unmarshal(line, &r); err != nil || r.RealNS <= 0 {
		return time.Time{}, 0, false
	}
	return time.Unix(0, r.RealNS), r.MonoNS, true
}

// Mono is `vcprobe mono` output.
type Mono struct {
	Iterations    int64   `json:"iterations"`
	Seconds       float64 `json:"seconds"`
	Decreases     int64   `json:"decreases"`
	MaxBackstepNS int64   `json:"max_backstep_ns"`
	MaxGapNS      int64   `json:"max_gap_ns"`
}

// ParseMono parses `vcprobe mono` JSON.
func ParseMono(b []byte) (Mono, bool) {
	var m Mono
	if err := json.Unmarshal(b, &m); err != nil || m.Iterations <= 0 {
		return Mono{}, false
	}
	return m, true
}
