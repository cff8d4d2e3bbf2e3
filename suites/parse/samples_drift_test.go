package parse

import (
	"math"
	"testing"
	"time"
)

// clock.drift samples healthy tiny guests gave on the busy lab (2 cores,
// load 11): controller time (s), round trip (ms), offset (s). All three
// guests kept time (the low-RTT samples agree within a few ms); the
// median of all pairwise slopes said -1155 ppm for the second and failed
// the check. A real drift laid over the same timing must still show.
var labDrift = [][][3]float64{
	{{0, 438.9, -1.0363}, {2.9, 6.8, -0.9564}, {5.5, 113.2, -1.0024}, {8.1, 20.0, -0.9635}, {10.7, 11.3, -0.9514},
		{13.2, 3.1, -0.9553}, {15.7, 3.0, -0.9552}, {18.3, 3.5, -0.9555}, {20.8, 2.7, -0.9552}},
	{{0, 216.0, -0.6768}, {2.7, 24.5, -0.7842}, {5.2, 2.6, -0.7737}, {7.8, 3.0, -0.7736}, {10.3, 242.3, -0.6596},
		{13.1, 203.9, -0.8741}, {15.9, 24.2, -0.7843}, {18.5, 75.8, -0.7915}, {21.0, 9.3, -0.7767}},
	{{0, 193.4, -1.0222}, {2.7, 7.3, -1.0829}, {5.2, 2.6, -1.0808}, {7.7, 9.2, -1.0840}, {10.2, 2.5, -1.0806},
		{12.7, 6.1, -1.0812}, {15.2, 3.4, -1.0809}, {17.7, 2.5, -1.0806}, {20.2, 2.4, -1.0806}},
}

func TestDriftIgnoresSlowRoundTrips(t *testing.T) {
	t0 := time.Unix(1795305034, 0)
	mk := func(set [][3]float64, ppm float64) []ClockSample {
		var s []ClockSample
		for _, x := range set {
			sent := t0.Add(time.Duration(x[0] * float64(time.Second)))
			rtt := time.Duration(x[1] * float64(time.Millisecond))
			off := x[2] + x[0]*ppm/1e6
			s = append(s, ClockSample{Sent: sent, Recv: sent.Add(rtt), Precise: true,
				Guest: sent.Add(rtt / 2).Add(time.Duration(off * float64(time.Second)))})
		}
		return s
	}
	for i, set := range labDrift {
		if d := SummarizeClock(mk(set, 0)).DriftPPM; math.Abs(d) > 500 {
			t.Errorf("lab set %d (healthy guest): drift %+.1f ppm, want within 500", i, d)
		}
		for _, ppm := range []float64{3000, -3000} {
			if d := SummarizeClock(mk(set, ppm)).DriftPPM; math.Abs(d-ppm) > 700 {
				t.Errorf("lab set %d with a real %+.0f ppm drift: got %+.1f ppm", i, ppm, d)
			}
		}
	}
}
