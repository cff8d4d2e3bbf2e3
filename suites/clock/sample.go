package clock

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/parse"
)

// probeDate is the fallback reading when the helper is absent.
const probeDate = `: vc=date; date -u +%s.%N`

// sample takes n clock samples interval apart: over one vcprobe session
// when the helper is uploaded and the transport can stream, else one
// `date` per sample. Each sample is bracketed by the controller's clock.
func sample(t *suites.T, step string, n int, interval time.Duration) []parse.ClockSample {
	if t.Target.Helper != "" {
		if st, ok := t.Target.OS.(transport.Streamer); ok {
			s, err := sampleHelper(t, st, step, n, interval)
			if err == nil {
				return s
			}
			t.Evidence(reports.Evidence{Step: step + " (vcprobe clock)", Command: t.Target.Helper + " clock", Output: "helper failed, falling back to date: " + err.Error()})
		}
	}
	return sampleDate(t, step, n, interval)
}

func sampleHelper(t *suites.T, st transport.Streamer, step string, n int, interval time.Duration) ([]parse.ClockSample, error) {
	ctx := t.Context()
	cmd := transport.Quote(t.Target.Helper) + " clock"
	p, err := st.Start(ctx, cmd)
	if err != nil {
		return nil, err
	}
	defer p.Kill()
	br := bufio.NewReader(p.Stdout)
	var out []parse.ClockSample
	var log strings.Builder
	for i := 0; i < n; i++ {
		sent := time.Now()
		if _, err := p.Stdin.Write([]byte("s\n")); err != nil {
			return nil, fmt.Errorf("sample %d: write: %w", i, err)
		}
		line, err := br.ReadBytes('\n')
		recv := time.Now()
		if err != nil {
			return nil, fmt.Errorf("sample %d: read: %w", i, err)
		}
		g, mono, ok := parse.ClockReply(line)
		if !ok {
			return nil, fmt.Errorf("sample %d: bad reply %.100q", i, line)
		}
		s := parse.ClockSample{Sent: sent, Recv: recv, Guest: g, GuestMono: mono, Precise: true}
		out = append(out, s)
		fmt.Fprintf(&log, "%d: %s rtt=%.1fms offset=%+.4fs\n", i, strings.TrimSpace(string(line)), ms(s.RTT()), s.Offset().Seconds())
		if !wait(ctx, i, n, interval) {
			return nil, ctx.Err()
		}
	}
	exit, err := p.Wait()
	if err != nil {
		return nil, err
	}
	t.Evidence(reports.Evidence{Step: step, Command: cmd + " (one session, one line per sample)", Exit: &exit, Output: log.String()})
	return out, nil
}

func sampleDate(t *suites.T, step string, n int, interval time.Duration) []parse.ClockSample {
	ctx := t.Context()
	var out []parse.ClockSample
	var log strings.Builder
	for i := 0; i < n; i++ {
		sent := time.Now()
		r, err := t.Target.OS.Run(ctx, transport.Command{Cmd: probeDate})
		recv := time.Now()
		if err != nil {
			t.Evidence(reports.Evidence{Step: step, Command: probeDate, Output: log.String() + err.Error()})
			t.Errorf("%s: transport: %v", step, err)
		}
		g, precise, ok := parse.EpochSeconds(string(r.Stdout))
		if r.Exit != 0 || !ok {
			exit := r.Exit
			t.Evidence(reports.Evidence{Step: step, Command: probeDate, Exit: &exit, Output: string(r.Stdout) + string(r.Stderr)})
			t.Fatalf("%s: the guest's date gave no epoch time (exit %d, %.80q)", step, r.Exit, r.Stdout)
		}
		s := parse.ClockSample{Sent: sent, Recv: recv, Guest: g, Precise: precise}
		out = append(out, s)
		fmt.Fprintf(&log, "%d: %s rtt=%.1fms offset=%+.4fs\n", i, strings.TrimSpace(string(r.Stdout)), ms(s.RTT()), s.Offset().Seconds())
		if !wait(ctx, i, n, interval) {
			t.Errorf("%s: %v", step, ctx.Err())
		}
	}
	exit := 0
	t.Evidence(reports.Evidence{Step: step, Command: probeDate + fmt.Sprintf(" (x%d, no helper)", n), Exit: &exit, Output: log.String()})
	return out
}

func wait(ctx context.Context, i, n int, interval time.Duration) bool {
	if interval <= 0 || i == n-1 {
		return ctx.Err() == nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(interval):
		return true
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// series turns samples into a chart series of offsets in seconds.
func series(s []parse.ClockSample) []reports.Point {
	if len(s) == 0 {
		return nil
	}
	pts := make([]reports.Point, len(s))
	for i, x := range s {
		pts[i] = reports.Point{T: x.Sent.Sub(s[0].Sent).Seconds(), V: x.Offset().Seconds()}
	}
	return pts
}
