//go:build linux

package probe

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestClockProtocol(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	const skew = 3 * time.Second
	go func() {
		ServeClock(inR, outW, func() (int64, int64) {
			r, m := Now()
			return r + int64(skew), m
		})
		outW.Close()
	}()
	s, err := SampleClock(context.Background(), inW, outR, 20, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	inW.Close()
	sum := Summarize(s)
	if sum.Samples != 20 || sum.MonoBackwards != 0 {
		t.Fatalf("summary %+v", sum)
	}
	if d := sum.Offset - skew; d < -5*time.Millisecond || d > 5*time.Millisecond {
		t.Fatalf("offset %v, want %v", sum.Offset, skew)
	}
	if sum.MaxError <= 0 || sum.MaxError > 50*time.Millisecond {
		t.Errorf("max error %v", sum.MaxError)
	}
	for i, x := range s {
		if x.Seq != i || x.RTT <= 0 {
			t.Errorf("sample %d: %+v", i, x)
		}
	}
}

func TestSummarizeDriftAndBackwards(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var s []ClockSample
	// Guest gains 100 ppm: offset grows 100 µs per second.
	for i := 0; i < 10; i++ {
		sent := t0.Add(time.Duration(i) * time.Second)
		off := time.Duration(i) * 100 * time.Microsecond
		s = append(s, ClockSample{Sent: sent, RTT: 2 * time.Millisecond, Offset: off, GuestMono: int64(1000 - i*(i%2))})
	}
	sum := Summarize(s)
	if sum.DriftPPM < 99 || sum.DriftPPM > 101 {
		t.Errorf("drift %v ppm, want 100", sum.DriftPPM)
	}
	if sum.MonoBackwards == 0 {
		t.Error("backwards monotonic readings not counted")
	}
}

func TestMonoCheck(t *testing.T) {
	r := MonoCheck(100 * time.Millisecond)
	if r.Iterations < 1000 || r.Decreases != 0 {
		t.Fatalf("%+v", r)
	}
}

func TestTCPThroughput(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type sr struct {
		r   TCPResult
		err error
	}
	ch := make(chan sr, 1)
	go func() { r, err := TCPServe(ctx, ln); ch <- sr{r, err} }()
	cl, err := TCPSend(ctx, ln.Addr().String(), 300*time.Millisecond, 3)
	if err != nil {
		t.Fatal(err)
	}
	srv := <-ch
	if srv.err != nil {
		t.Fatal(srv.err)
	}
	if cl.Bytes == 0 || cl.Bytes != srv.r.Bytes || cl.Mbps <= 0 || srv.r.Streams != 3 {
		t.Fatalf("client %+v server %+v", cl, srv.r)
	}
	for i, n := range cl.PerStream {
		if n == 0 {
			t.Errorf("stream %d moved nothing", i)
		}
	}
	t.Logf("loopback: %.0f Mbit/s over %d streams", cl.Mbps, cl.Streams)
}

func TestTCPServerCancelled(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := TCPServe(ctx, ln); err == nil {
		t.Fatal("server without clients returned no error")
	}
	if _, err := TCPSend(context.Background(), ln.Addr().String(), 10*time.Millisecond, 1); err == nil {
		t.Fatal("client to a closed port succeeded")
	}
}

func TestDiskBench(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bench")
	for _, mode := range []string{"seqwrite", "seqread", "randread", "randwrite"} {
		bs := 1 << 20
		if mode[0] == 'r' {
			bs = 4096
		}
		for _, gosys := range []bool{false, true} {
			r, err := DiskBench(DiskOptions{Path: p, Size: 8 << 20, Mode: mode, BS: bs, Direct: true, Duration: 150 * time.Millisecond, GoSyscall: gosys})
			if err != nil {
				t.Fatalf("%s gosyscall=%v: %v", mode, gosys, err)
			}
			if r.Ops == 0 || r.Bytes != r.Ops*int64(bs) || r.IOPS <= 0 || r.MBps <= 0 {
				t.Fatalf("%s gosyscall=%v: %+v", mode, gosys, r)
			}
			t.Logf("%s bs=%d direct=%v gosyscall=%v: %.1f MB/s %.0f IOPS %s", mode, bs, r.Direct, gosys, r.MBps, r.IOPS, r.Note)
		}
	}
	// Ramp: warm-up I/O runs first and is not counted; a write run's
	// closing fsync is timed apart (outside the window with O_DIRECT).
	r, err := DiskBench(DiskOptions{Path: p, Size: 8 << 20, Mode: "randwrite", BS: 4096, Direct: true,
		Duration: 150 * time.Millisecond, Ramp: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.RampSeconds < 0.1 || r.Seconds < 0.15 || r.Ops == 0 || r.FsyncSeconds <= 0 {
		t.Fatalf("ramp/fsync not accounted: %+v", r)
	}
	if _, err := DiskBench(DiskOptions{Path: p, Size: 8 << 20, Mode: "bogus", BS: 4096, Duration: time.Millisecond}); err == nil {
		t.Error("bogus mode accepted")
	}
}

func TestIntegrity(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "data")
	r := Integrity(p, 4<<20, 42, "both", true)
	if !r.OK() || r.Verified != 1024 || r.Written != 4<<20 {
		t.Fatalf("clean pass: %+v", r)
	}
	// Data that reads back different: flip one byte in block 700.
	w := Integrity(p, 4<<20, 43, "write", true)
	if w.WriteError != "" {
		t.Fatal(w.WriteError)
	}
	f, _ := os.OpenFile(p, os.O_RDWR, 0)
	f.WriteAt([]byte{0xff ^ 0x5a}, 700*BlockSize+100)
	f.Close()
	v := Integrity(p, 4<<20, 43, "verify", true)
	if v.OK() || v.Mismatches != 1 || len(v.BadOffsets) != 1 || v.BadOffsets[0] != 700*BlockSize {
		t.Fatalf("corruption not detected: %+v", v)
	}
	// Stale data from an earlier run (other seed) is a mismatch too.
	if v := Integrity(p, 4<<20, 44, "verify", true); v.Mismatches != 1024 {
		t.Fatalf("stale data accepted: %d mismatches", v.Mismatches)
	}
	// A disk that refuses writes.
	ro := filepath.Join(dir, "ro")
	os.WriteFile(ro, nil, 0o400)
	if os.Geteuid() == 0 {
		// root ignores file modes: use a read-only bind of /proc instead.
		ro = "/proc/version"
	}
	if r := Integrity(ro, 1<<20, 1, "both", true); r.OK() || r.WriteError == "" {
		t.Fatalf("read-only target passed: %+v", r)
	}
}

func TestBlockPattern(t *testing.T) {
	a, b := make([]byte, BlockSize), make([]byte, BlockSize)
	FillBlock(a, 5, 9)
	if !CheckBlock(a, 5, 9, b) || CheckBlock(a, 6, 9, b) || CheckBlock(a, 5, 10, b) {
		t.Fatal("pattern identity broken")
	}
	a[2000] ^= 1
	if CheckBlock(a, 5, 9, b) {
		t.Fatal("bit flip not detected")
	}
}

// TestTicksToNS: the performance counter's conversion is exact and does
// not overflow for a counter that has run for a year at 10 MHz.
func TestTicksToNS(t *testing.T) {
	for _, c := range []struct{ ticks, freq, want int64 }{
		{10_000_000, 10_000_000, 1e9},
		{15, 10_000_000, 1500},
		{365 * 86400 * 10_000_000, 10_000_000, 365 * 86400 * 1e9},
		{3, 3_579_545, 838},
		{5, 0, 0},
	} {
		if got := ticksToNS(c.ticks, c.freq); got != c.want {
			t.Errorf("ticksToNS(%d, %d) = %d, want %d", c.ticks, c.freq, got, c.want)
		}
	}
}

// TestMonoScan: a clock that steps back is counted, with its largest
// step back and forward.
func TestMonoScan(t *testing.T) {
	seq := []int64{0, 10, 20, 15, 30, 1000, 990, 2_000_000_000}
	i := 0
	now := func() int64 { v := seq[min(i, len(seq)-1)]; i++; return v }
	r := monoScan(now, time.Second)
	if r.Decreases != 2 || r.MaxBackstepNS != 10 || r.MaxGapNS != 2_000_000_000-990 || r.Iterations != 7 {
		t.Errorf("scan: %+v", r)
	}
}
