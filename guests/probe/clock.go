// Package probe is the code shared by the vcprobe guest helper
// (cmd/vcprobe) and the controller side of its measurements: the clock
// sampling protocol, the TCP throughput protocol, disk throughput and the
// integrity pattern, and the JSON result types both ends agree on.
package probe

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"
)

// ClockReply is one guest clock reading, answered for each request line.
type ClockReply struct {
	Seq    int   `json:"seq"`
	RealNS int64 `json:"real_ns"` // CLOCK_REALTIME, ns since the epoch
	MonoNS int64 `json:"mono_ns"` // CLOCK_MONOTONIC, ns
}

// ServeClock is the guest end of the clock protocol: for each line read
// from r it writes one ClockReply line to w, reading the clocks as late
// as possible (right before the write) and flushing at once, so one
// session yields many samples without a process start per sample. It
// returns at EOF on r.
func ServeClock(r io.Reader, w io.Writer, now func() (real, mono int64)) error {
	br := bufio.NewReader(r)
	bw := bufio.NewWriter(w)
	for seq := 0; ; seq++ {
		if _, err := br.ReadString('\n'); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		re, mo := now()
		fmt.Fprintf(bw, `{"seq":%d,"real_ns":%d,"mono_ns":%d}`+"\n", seq, re, mo)
		if err := bw.Flush(); err != nil {
			return err
		}
	}
}

// ClockSample is one controller-side observation: the guest's reading,
// bracketed by the controller's send and receive times.
type ClockSample struct {
	Seq       int           `json:"seq"`
	Sent      time.Time     `json:"sent"`
	Recv      time.Time     `json:"recv"`
	RTT       time.Duration `json:"rtt_ns"`
	GuestReal time.Time     `json:"guest_real"`
	GuestMono int64         `json:"guest_mono_ns"`
	// Offset is guest minus controller, with the controller time taken
	// at the middle of the round trip (Sent + RTT/2): the guest read its
	// clock somewhere inside the round trip, so the error of this
	// correction is at most RTT/2.
	Offset time.Duration `json:"offset_ns"`
}

// SampleClock drives the protocol from the controller: it writes a line
// to in, reads one reply from out, n times, interval apart. in and out are
// the stdin and stdout of `vcprobe clock` running in the guest.
func SampleClock(ctx context.Context, in io.Writer, out io.Reader, n int, interval time.Duration) ([]ClockSample, error) {
	br := bufio.NewReader(out)
	var samples []ClockSample
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return samples, err
		}
		sent := time.Now()
		if _, err := io.WriteString(in, "s\n"); err != nil {
			return samples, fmt.Errorf("clock sample %d: write: %w", i, err)
		}
		line, err := br.ReadBytes('\n')
		recv := time.Now()
		if err != nil {
			return samples, fmt.Errorf("clock sample %d: read: %w", i, err)
		}
		var rep ClockReply
		if err := json.Unmarshal(line, &rep); err != nil {
			return samples, fmt.Errorf("clock sample %d: bad reply %q: %w", i, line, err)
		}
		rtt := recv.Sub(sent)
		gr := time.Unix(0, rep.RealNS)
		samples = append(samples, ClockSample{
			Seq: rep.Seq, Sent: sent, Recv: recv, RTT: rtt, GuestReal: gr, GuestMono: rep.MonoNS,
			Offset: gr.Sub(sent.Add(rtt / 2)),
		})
		if interval > 0 && i < n-1 {
			select {
			case <-ctx.Done():
				return samples, ctx.Err()
			case <-time.After(interval):
			}
		}
	}
	return samples, nil
}

// ClockSummary condenses samples. The offset is the median of the
// samples with the lowest RTTs (the best-bounded ones).
type ClockSummary struct {
	Samples   int           `json:"samples"`
	Offset    time.Duration `json:"offset_ns"`
	MaxError  time.Duration `json:"max_error_ns"` // RTT/2 of the samples used
	MinRTT    time.Duration `json:"min_rtt_ns"`
	MedianRTT time.Duration `json:"median_rtt_ns"`
	// DriftPPM is the guest realtime rate against the controller's,
	// from a least-squares fit over the samples (0 with < 2 samples).
	DriftPPM float64 `json:"drift_ppm"`
	// MonoBackwards counts replies whose monotonic reading went down.
	MonoBackwards int `json:"mono_backwards"`
}

// Summarize computes a ClockSummary.
func Summarize(s []ClockSample) ClockSummary {
	var sum ClockSummary
	sum.Samples = len(s)
	if len(s) == 0 {
		return sum
	}
	byRTT := append([]ClockSample(nil), s...)
	sort.Slice(byRTT, func(i, j int) bool { return byRTT[i].RTT < byRTT[j].RTT })
	sum.MinRTT = byRTT[0].RTT
	sum.MedianRTT = byRTT[len(byRTT)/2].RTT
	best := byRTT[:max(1, (len(byRTT)+1)/2)]
	offs := make([]time.Duration, len(best))
	for i, b := range best {
		offs[i] = b.Offset
		sum.MaxError = max(sum.MaxError, b.RTT/2)
	}
	sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
	sum.Offset = offs[len(offs)/2]
	for i := 1; i < len(s); i++ {
		if s[i].GuestMono < s[i-1].GuestMono {
			sum.MonoBackwards++
		}
	}
	if len(s) >= 2 {
		// Fit offset(t) = a + b t; drift = b in ppm.
		t0 := s[0].Sent
		var n, sx, sy, sxx, sxy float64
		for _, x := range s {
			tx := x.Sent.Add(x.RTT / 2).Sub(t0).Seconds()
			ty := x.Offset.Seconds()
			n++
			sx += tx
			sy += ty
			sxx += tx * tx
			sxy += tx * ty
		}
		if d := n*sxx - sx*sx; d != 0 {
			sum.DriftPPM = (n*sxy - sx*sy) / d * 1e6
		}
	}
	return sum
}
