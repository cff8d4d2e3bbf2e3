package probe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// TCP throughput protocol. The client opens Streams connections; each
// starts with a one-byte header (the stream count, so the server knows
// when the test is complete), then the client writes for Duration and
// half-closes. The receiving server counts what it read and answers with
// that count (8 bytes, big endian) before closing. The client's figure is
// therefore bytes the receiver actually got, over the time until the
// receiver acknowledged them: socket buffers do not inflate it.

// TCPResult is what either end reports.
type TCPResult struct {
	Role    string  `json:"role"` // "client" (sender) or "server" (receiver)
	Streams int     `json:"streams"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	Mbps    float64 `json:"mbit_per_s"`
	// PerStream is each stream's byte count (all streams should move data).
	PerStream []int64 `json:"per_stream"`
	Error     string  `json:"error,omitempty"`
}

const tcpBuf = 128 << 10

// TCPServe accepts one test (Streams connections) on ln, receives until
// every stream ended, and reports. It returns early with an error when
// ctx ends first.
func TCPServe(ctx context.Context, ln net.Listener) (TCPResult, error) {
	res := TCPResult{Role: "server"}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var (
		rx       tcpReceiver
		wg       sync.WaitGroup
		want     = -1
		accepted int
		conns    []net.Conn
	)
	for want < 0 || accepted < want {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			for _, c := range conns {
				c.Close()
			}
			return res, fmt.Errorf("tcp server: accept: %w", err)
		}
		var hdr [1]byte
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, hdr[:]); err != nil || hdr[0] == 0 {
			c.Close()
			continue // not one of ours (a port scan, a health probe)
		}
		_ = c.SetReadDeadline(time.Time{})
		if want < 0 {
			want = int(hdr[0])
			rx.perStream = make([]int64, want)
		}
		idx := accepted
		accepted++
		conns = append(conns, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rx.receive(c, idx)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		for _, c := range conns {
			c.Close()
		}
		<-done
		return res, fmt.Errorf("tcp server: %w", ctx.Err())
	}
	res.Streams = want
	res.PerStream = rx.perStream
	for _, n := range rx.perStream {
		res.Bytes += n
	}
	if !rx.first.IsZero() {
		res.Seconds = rx.last.Sub(rx.first).Seconds()
	}
	if res.Seconds > 0 {
		res.Mbps = float64(res.Bytes) * 8 / res.Seconds / 1e6
	}
	if len(rx.errs) > 0 {
		res.Error = rx.errs[0].Error()
		return res, fmt.Errorf("tcp server: %w", rx.errs[0])
	}
	return res, nil
}

// tcpReceiver is what TCPServe's streams share: the arrival of the
// first and the last byte of any stream, the read errors other than EOF,
// and the bytes each stream received (perStream, sized before the first
// stream starts).
type tcpReceiver struct {
	mu          sync.Mutex
	first, last time.Time
	errs        []error
	perStream   []int64
}

// receive reads stream idx on c to its end, acknowledges the byte count
// (8 bytes, big-endian) and records it.
func (r *tcpReceiver) receive(c net.Conn, idx int) {
	defer c.Close()
	buf := make([]byte, tcpBuf)
	var n int64
	for {
		k, err := c.Read(buf)
		if k > 0 {
			now := time.Now()
			r.mu.Lock()
			if r.first.IsZero() {
				r.first = now
			}
			r.last = now
			r.mu.Unlock()
			n += int64(k)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				r.mu.Lock()
				r.errs = append(r.errs, err)
				r.mu.Unlock()
			}
			break
		}
	}
	var ack [8]byte
	binary.BigEndian.PutUint64(ack[:], uint64(n))
	_, _ = c.Write(ack[:])
	r.mu.Lock()
	r.perStream[idx] = n
	r.mu.Unlock()
}

// TCPSend connects streams connections to addr, sends for d, and reports
// the bytes the receiver acknowledged.
func TCPSend(ctx context.Context, addr string, d time.Duration, streams int) (TCPResult, error) {
	res := TCPResult{Role: "client", Streams: streams}
	if streams < 1 || streams > 255 {
		return res, fmt.Errorf("tcp client: streams must be 1..255, got %d", streams)
	}
	conns, err := dialStreams(ctx, addr, streams)
	if err != nil {
		return res, err
	}
	closeAll := func() { closeConns(conns) }
	stop := context.AfterFunc(ctx, closeAll)
	defer stop()
	defer closeAll()
	res.PerStream = make([]int64, streams)
	errs := make([]error, streams)
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res.PerStream[i], errs[i] = sendStream(c, end)
		}()
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	for _, n := range res.PerStream {
		res.Bytes += n
	}
	if res.Seconds > 0 {
		res.Mbps = float64(res.Bytes) * 8 / res.Seconds / 1e6
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("tcp client: %w", ctx.Err())
	}
	for _, err := range errs {
		if err != nil {
			res.Error = err.Error()
			return res, fmt.Errorf("tcp client: %w", err)
		}
	}
	return res, nil
}

// dialStreams opens streams connections to addr, each announcing the
// stream count in its first byte; on an error none is left open.
func dialStreams(ctx context.Context, addr string, streams int) ([]net.Conn, error) {
	var dl net.Dialer
	conns := make([]net.Conn, 0, streams)
	for i := 0; i < streams; i++ {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		c, err := dl.DialContext(cctx, "tcp", addr)
		cancel()
		if err != nil {
			closeConns(conns)
			return nil, fmt.Errorf("tcp client: connect %s: %w", addr, err)
		}
		if _, err := c.Write([]byte{byte(streams)}); err != nil {
			c.Close()
			closeConns(conns)
			return nil, fmt.Errorf("tcp client: %w", err)
		}
		conns = append(conns, c)
	}
	return conns, nil
}

func closeConns(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// sendStream writes to c until end, half-closes it and returns the byte
// count the receiver acknowledged (0 and the error when it failed).
func sendStream(c net.Conn, end time.Time) (int64, error) {
	buf := make([]byte, tcpBuf)
	for j := range buf {
		buf[j] = byte(j * 7)
	}
	_ = c.SetWriteDeadline(end)
	for time.Now().Before(end) {
		if _, err := c.Write(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break
			}
			return 0, err
		}
	}
	_ = c.SetWriteDeadline(time.Time{})
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	var ack [8]byte
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		return 0, fmt.Errorf("no acknowledgement from receiver: %w", err)
	}
	return int64(binary.BigEndian.Uint64(ack[:])), nil
}
