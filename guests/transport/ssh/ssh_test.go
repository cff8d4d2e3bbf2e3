//go:build linux

package ssh

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
)

func cfgFor(s *testServer, client ssh.Signer) Config {
	return Config{Addr: s.addr(), User: "root", Signer: client, HostKey: s.hostKey.PublicKey(), HandshakeTimeout: 3 * time.Second}
}

func dial(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRunExitIsData(t *testing.T) {
	key := newSigner(t)
	s := startServer(t, key, nil)
	c := dial(t, cfgFor(s, key))
	cases := []struct {
		cmd          string
		exit         int
		stdout, serr string
	}{
		{"echo hello", 0, "hello\n", ""},
		{"echo oops >&2; exit 3", 3, "", "oops\n"},
		{"printf %s \"$(cat)\"", 0, "from-stdin", ""},
	}
	for _, tc := range cases {
		cmd := transport.Command{Cmd: tc.cmd}
		if strings.Contains(tc.cmd, "cat") {
			cmd.Stdin = strings.NewReader("from-stdin")
		}
		r, err := c.Run(context.Background(), cmd)
		if err != nil {
			t.Fatalf("%q: %v", tc.cmd, err)
		}
		if r.Exit != tc.exit || string(r.Stdout) != tc.stdout || string(r.Stderr) != tc.serr {
			t.Errorf("%q: got exit %d out %q err %q", tc.cmd, r.Exit, r.Stdout, r.Stderr)
		}
		if r.Duration <= 0 {
			t.Errorf("%q: no duration", tc.cmd)
		}
	}
	if s.conns.Load() != 1 {
		t.Errorf("commands used %d connections, want 1", s.conns.Load())
	}
}

func TestHostKeyMismatchIsSecurityError(t *testing.T) {
	key := newSigner(t)
	s := startServer(t, key, nil)
	cfg := cfgFor(s, key)
	cfg.HostKey = newSigner(t).PublicKey() // pinned key differs
	_, err := Dial(context.Background(), cfg)
	var hk *transport.HostKeyError
	if !errors.As(err, &hk) {
		t.Fatalf("want HostKeyError, got %v", err)
	}
	if drivers.ClassOf(err) != drivers.ClassSecurity {
		t.Errorf("class %v, want security", drivers.ClassOf(err))
	}
	if hk.Got != Fingerprint(s.hostKey.PublicKey()) || hk.Want != Fingerprint(cfg.HostKey) {
		t.Errorf("fingerprints wrong: %+v", hk)
	}
	// WaitReady must not retry a host key mismatch.
	_, st, err := WaitReady(context.Background(), cfg, "true", ReadyOptions{})
	if !errors.As(err, &hk) || st.HandshakeAttempts != 1 {
		t.Fatalf("WaitReady: err %v after %d handshakes", err, st.HandshakeAttempts)
	}
}

func TestMissingHostKeyRefused(t *testing.T) {
	key := newSigner(t)
	s := startServer(t, key, nil)
	cfg := cfgFor(s, key)
	cfg.HostKey = nil
	if _, err := Dial(context.Background(), cfg); err == nil || drivers.ClassOf(err) != drivers.ClassInput {
		t.Fatalf("dial without a pinned host key: %v", err)
	}
}

func TestAuthFailureCapped(t *testing.T) {
	key := newSigner(t)
	s := startServer(t, key, nil)
	cfg := cfgFor(s, newSigner(t)) // a key the server does not know
	_, err := Dial(context.Background(), cfg)
	var ae *transport.AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("want AuthError, got %v", err)
	}
	_, st, err := WaitReady(context.Background(), cfg, "true", ReadyOptions{MaxAuthFailures: 2, Backoff: time.Millisecond})
	if !errors.As(err, &ae) || st.AuthFailures != 2 {
		t.Fatalf("WaitReady: %v, stats %+v", err, st)
	}
}

func TestPasswordAuthAndSecretNotLeaked(t *testing.T) {
	key := newSigner(t)
	s := startServer(t, key, func(s *testServer) { s.password = "s3cr3t-pw" })
	cfg := cfgFor(s, nil)
	cfg.Signer = nil
	cfg.Password = drivers.Secret("s3cr3t-pw")
	c := dial(t, cfg)
	if r, err := c.Run(context.Background(), transport.Command{Cmd: "true"}); err != nil || r.Exit != 0 {
		t.Fatal(r, err)
	}
	cfg.Password = drivers.Secret("wrong-pw-XYZ")
	_, err := Dial(context.Background(), cfg)
	if err == nil || strings.Contains(err.Error(), "wrong-pw-XYZ") {
		t.Fatalf("bad password: %v", err)
	}
}

func TestSlowHandshakeBounded(t *testing.T) {
	key := newSigner(t)
	s := startServer(t, key, func(s *testServer) { s.slowHandshake = 3 * time.Second })
	cfg := cfgFor(s, key)
	cfg.HandshakeTimeout = 300 * time.Millisecond
	start := time.Now()
	_, err := Dial(context.Background(), cfg)
	if err == nil || !IsNetwork(err) {
		t.Fatalf("want a network error, got %v", err)
	}
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Fatalf("handshake deadline not honoured: %v", el)
	}
	// Cancellation also aborts a stuck handshake.
	cfg.HandshakeTimeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := Dial(ctx, cfg); err == nil || time.Since(start) > 1500*time.Millisecond {
		t.Fatalf("ctx did not abort handshake: %v after %v", err, time.Since(start))
	}
}

func TestDropMidCommand(t *testing.T) {
	key := newSigner(t)
	s := startServer(t, key, func(s *testServer) { s.dropOn = "DROPME" })
	c := dial(t, cfgFor(s, key))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Run(ctx, transport.Command{Cmd: "sleep 5 # DROPME"})
	if err == nil || ctx.Err() != nil {
		t.Fatalf("dropped connection: err %v (ctx %v)", err, ctx.Err())
	}
	if !IsNetwork(err) {
		t.Errorf("drop should be a network error: %v", err)
	}
	// Later calls fail fast too.
	if _, err := c.Run(context.Background(), transport.Command{Cmd: "true"}); err == nil {
		t.Fatal("run on a dropped connection succeeded")
	}
}

func TestKeepaliveDetectsDeadPeer(t *testing.T) {
	key := newSigner(t)
	s := startServer(t, key, nil)
	cfg := cfgFor(s, key)
	cfg.KeepAlive = 50 * time.Millisecond
	cfg.KeepAliveMax = 2
	c := dial(t, cfg)
	time.Sleep(200 * time.Millisecond)
	if err := c.Err(); err != nil {
		t.Fatalf("healthy peer declared dead: %v", err)
	}
	s.silent.Store(true) // peer stops answering (a frozen guest)
	deadline := time.Now().Add(3 * time.Second)
	for c.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.Err(); err == nil || !strings.Contains(err.Error(), "keepalive") {
		t.Fatalf("dead peer not detected: %v", err)
	}
	if _, err := c.Run(context.Background(), transport.Command{Cmd: "true"}); err == nil {
		t.Fatal("run on a dead connection succeeded")
	}
}

func TestCancelKillsRemoteCommand(t *testing.T) {
	key := newSigner(t)
	s := startServer(t, key, nil)
	c := dial(t, cfgFor(s, key))
	dir := t.TempDir()
	pidf := filepath.Join(dir, "pid")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Run(ctx, transport.Command{Cmd: "echo $$ > " + transport.Quote(pidf) + "; exec sleep 30"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline error, got %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("cancel took %v", time.Since(start))
	}
	// The server counts the signal on its own goroutine: give it a moment.
	for deadline := time.Now().Add(2 * time.Second); s.signals.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if s.signals.Load() == 0 {
		t.Error("no signal request reached the server")
	}
	assertProcessGone(t, pidf)
	// Command.Timeout works the same way.
	r, err := c.Run(context.Background(), transport.Command{Cmd: "sleep 30", Timeout: 200 * time.Millisecond})
	if err == nil {
		t.Fatalf("timeout ignored: %+v", r)
	}
	// And the connection is still usable afterwards.
	if r, err := c.Run(context.Background(), transport.Command{Cmd: "echo ok"}); err != nil || string(r.Stdout) != "ok\n" {
		t.Fatal(r, err)
	}
}

// A guest that stops answering channel opens (paused, frozen) does not
// hold Run or Start past their deadline, and a session that opens after
// that runs nothing: the caller has moved on.
func TestDeadlineWhileSessionOpens(t *testing.T) {
	key := newSigner(t)
	s := startServer(t, key, nil)
	c := dial(t, cfgFor(s, key))
	mark := filepath.Join(t.TempDir(), "ran")
	s.holdOpens.Store(true)
	t.Cleanup(func() { s.holdOpens.Store(false) })
	for _, way := range []string{"run", "start"} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		done := make(chan error, 1)
		go func() {
			var err error
			if way == "run" {
				_, err = c.Run(ctx, transport.Command{Cmd: "touch " + transport.Quote(mark)})
			} else {
				_, err = c.Start(ctx, "touch "+transport.Quote(mark))
			}
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s: want a deadline error, got %v", way, err)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("%s: still waiting for its session 3s after a 300ms deadline", way)
		}
		cancel()
	}
	s.holdOpens.Store(false)
	// The held opens are answered now; the sessions must close unused.
	time.Sleep(time.Second)
	if n := s.execs.Load(); n != 0 {
		t.Errorf("%d exec requests after Run and Start had given up, want none", n)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Error("a command ran after its Run or Start had given up")
	}
	if r, err := c.Run(context.Background(), transport.Command{Cmd: "echo ok"}); err != nil || string(r.Stdout) != "ok\n" {
		t.Fatal(r, err)
	}
}

func assertProcessGone(t *testing.T, pidf string) {
	t.Helper()
	b, err := os.ReadFile(pidf)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		// A zombie still answers kill(0): check its state.
		if st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err != nil || strings.Contains(string(st), ") Z ") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("remote process %d still running after cancel", pid)
}

func TestUploadDownload(t *testing.T) {
	for _, withSFTP := range []bool{true, false} {
		t.Run("sftp="+strconv.FormatBool(withSFTP), func(t *testing.T) {
			key := newSigner(t)
			s := startServer(t, key, func(s *testServer) { s.sftp = withSFTP })
			c := dial(t, cfgFor(s, key))
			data := make([]byte, 3<<20+17)
			rand.Read(data)
			p := filepath.Join(t.TempDir(), "it's a file") // quote-hostile name
			if err := c.Upload(context.Background(), p, bytes.NewReader(data), 0o750); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(p)
			if !bytes.Equal(got, data) {
				t.Fatalf("uploaded %d bytes, file has %d", len(data), len(got))
			}
			if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o750 {
				t.Errorf("mode %v", fi.Mode())
			}
			var buf bytes.Buffer
			if err := c.Download(context.Background(), p, &buf); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), data) {
				t.Fatal("download differs")
			}
			if known, avail := c.SFTP(); !known || avail != withSFTP {
				t.Errorf("SFTP() = %v %v", known, avail)
			}
			if withSFTP != (s.sftpReqs.Load() > 0) {
				t.Errorf("sftp requests %d", s.sftpReqs.Load())
			}
			if err := c.Download(context.Background(), p+".missing", &buf); err == nil {
				t.Error("download of a missing file succeeded")
			}
		})
	}
}

func TestStartInteractive(t *testing.T) {
	key := newSigner(t)
	s := startServer(t, key, nil)
	c := dial(t, cfgFor(s, key))
	p, err := c.Start(context.Background(), "while read l; do echo got-$l; done")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	for _, w := range []string{"a", "b"} {
		p.Stdin.Write([]byte(w + "\n"))
		n, err := p.Stdout.Read(buf)
		if err != nil || string(buf[:n]) != "got-"+w+"\n" {
			t.Fatalf("read %q %v", buf[:n], err)
		}
	}
	if code, err := p.Wait(); err != nil || code != 0 {
		t.Fatal(code, err)
	}
}

func TestWaitReadyRetriesNetwork(t *testing.T) {
	key := newSigner(t)
	// Reserve a port, start nothing on it yet: phase 1 must retry.
	addr := closedAddr(t)
	host := newSigner(t)
	serveAfter(t, addr, 600*time.Millisecond, host, key)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := Config{Addr: addr, User: "root", Signer: key, HostKey: host.PublicKey()}
	c, st, err := WaitReady(ctx, cfg, "test -d /", ReadyOptions{Backoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err, st)
	}
	defer c.Close()
	if st.TCPAttempts < 2 || st.TCPTime < 500*time.Millisecond || st.ProbeAttempts != 1 || st.AuthFailures != 0 {
		t.Errorf("stats %+v", st)
	}
	// A probe that fails is retried until ctx ends, and reported.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel2()
	_, st, err = WaitReady(ctx2, cfg, "exit 1", ReadyOptions{Backoff: 50 * time.Millisecond, ProbeInterval: 50 * time.Millisecond})
	if err == nil || st.ProbeAttempts < 2 || !strings.Contains(err.Error(), "probe") {
		t.Fatalf("failing probe: %v %+v", err, st)
	}
}

// TestUploadMissingSFTP: a server that grants the sftp subsystem but has
// no sftp-server (dropbear) must not see the fallback's session while
// the failed one is still closing; dropbear closes such a session
// unanswered. The upload succeeds through cat, the connection stays
// usable, and the next upload does not ask for sftp again.
func TestUploadMissingSFTP(t *testing.T) {
	key := newSigner(t)
	s := startServer(t, key, func(s *testServer) { s.missingSFTP = true })
	c, err := Dial(context.Background(), Config{Addr: s.addr(), User: "root", Signer: key, HostKey: s.hostKey.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dir := t.TempDir()
	for i := range 2 {
		p := filepath.Join(dir, strconv.Itoa(i))
		if err := c.Upload(context.Background(), p, strings.NewReader("payload"), 0o600); err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
		if b, err := os.ReadFile(p); err != nil || string(b) != "payload" {
			t.Fatalf("upload %d wrote %q, %v", i, b, err)
		}
	}
	if n := s.racedExecs.Load(); n != 0 {
		t.Errorf("%d exec(s) sent while the refused sftp session was still closing", n)
	}
	if n := s.sftpReqs.Load(); n != 1 {
		t.Errorf("sftp asked %d times on one connection, want 1", n)
	}
	if err := c.Err(); err != nil {
		t.Errorf("connection marked unusable: %v", err)
	}
}

// TestRunSessionClosedUnanswered: a server that closes a new session
// without answering its exec (the connection itself alive) gets one more
// session; twice in a row is an error, but the connection is not
// declared dead, so callers do not redial a healthy guest.
func TestRunSessionClosedUnanswered(t *testing.T) {
	key := newSigner(t)
	s := startServer(t, key, nil)
	c, err := Dial(context.Background(), Config{Addr: s.addr(), User: "root", Signer: key, HostKey: s.hostKey.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s.closeExecs.Store(1)
	r, err := c.Run(context.Background(), transport.Command{Cmd: "echo ok"})
	if err != nil || string(r.Stdout) != "ok\n" {
		t.Fatalf("one closed session: want a retried success, got %+v %v", r, err)
	}
	s.closeExecs.Store(2)
	if _, err := c.Run(context.Background(), transport.Command{Cmd: "echo ok"}); err == nil || !strings.Contains(err.Error(), "EOF") {
		t.Fatalf("two closed sessions: want an EOF error, got %v", err)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("live connection declared unusable: %v", err)
	}
	if r, err := c.Run(context.Background(), transport.Command{Cmd: "echo again"}); err != nil || string(r.Stdout) != "again\n" {
		t.Fatalf("after: %+v %v", r, err)
	}
	// Start (the clock checks' streamed sampler) shares the retry.
	s.closeExecs.Store(1)
	p, err := c.Start(context.Background(), "echo streamed")
	if err != nil {
		t.Fatalf("Start with one closed session: want a retried success, got %v", err)
	}
	if b, _ := io.ReadAll(p.Stdout); string(b) != "streamed\n" {
		t.Errorf("Start's output %q", b)
	}
	if code, err := p.Wait(); code != 0 || err != nil {
		t.Errorf("Start's wait: %d %v", code, err)
	}
	s.closeExecs.Store(0)
}

// TestWaitReadyRefusedKeepsPace: a refused connect (the guest's kernel is
// up, its SSH server not yet) is retried at the first backoff, not a
// doubling one, so readiness is seen within one short pause of the server
// starting. With doubling, 1 s of refusals at 20 ms would take about six
// attempts.
func TestWaitReadyRefusedKeepsPace(t *testing.T) {
	key, host := newSigner(t), newSigner(t)
	addr := closedAddr(t)
	serveAfter(t, addr, time.Second, host, key)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := Config{Addr: addr, User: "root", Signer: key, HostKey: host.PublicKey()}
	c, st, err := WaitReady(ctx, cfg, "true", ReadyOptions{Backoff: 20 * time.Millisecond, MaxBackoff: 5 * time.Second})
	if err != nil {
		t.Fatal(err, st)
	}
	c.Close()
	if st.TCPAttempts < 15 {
		t.Errorf("%d TCP attempts in %s of refusals: the backoff grew on refused connects", st.TCPAttempts, st.TCPTime)
	}
}

// TestWaitReadyProbeOnOneConnection: a probe that exits non-zero (cloud-init
// still running) is asked again on the same connection, not after a new
// handshake, until it passes.
func TestWaitReadyProbeOnOneConnection(t *testing.T) {
	key := newSigner(t)
	s := startServer(t, key, nil)
	flag := filepath.Join(t.TempDir(), "result.json")
	time.AfterFunc(400*time.Millisecond, func() { os.WriteFile(flag, nil, 0o600) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, st, err := WaitReady(ctx, cfgFor(s, key), "test -f "+flag, ReadyOptions{ProbeInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err, st)
	}
	c.Close()
	if st.HandshakeAttempts != 1 || st.ProbeAttempts < 2 {
		t.Errorf("stats %+v: want the probe repeated on one handshake", st)
	}
}

// TestWaitReadyRefusedForeverBacksOff: a port that stays closed (no SSH
// server, a REJECT rule) is asked fast only fastRefusals times, then with
// the doubling backoff; it is not hammered for the whole ready timeout.
func TestWaitReadyRefusedForeverBacksOff(t *testing.T) {
	addr := closedAddr(t)
	key, host := newSigner(t), newSigner(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cfg := Config{Addr: addr, User: "root", Signer: key, HostKey: host.PublicKey()}
	_, st, err := WaitReady(ctx, cfg, "true", ReadyOptions{Backoff: 10 * time.Millisecond, MaxBackoff: time.Second})
	if err == nil {
		t.Fatal("a closed port was ready")
	}
	if st.TCPAttempts <= fastRefusals || st.TCPAttempts > fastRefusals+20 {
		t.Errorf("%d TCP attempts in 2 s of refusals: want the %d fast ones, then a doubling backoff", st.TCPAttempts, fastRefusals)
	}
}

// closedAddr reserves a loopback port and closes it: connects to it are
// refused until something listens there.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// serveAfter starts a test server on addr after d (a guest whose SSH
// server comes up late), with host's key, accepting key.
func serveAfter(t *testing.T, addr string, d time.Duration, host, key ssh.Signer) {
	go func() {
		time.Sleep(d)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return
		}
		s := &testServer{t: t, ln: ln, hostKey: host, authKey: key.PublicKey()}
		s.wg.Add(1)
		go s.serve()
		t.Cleanup(s.close)
	}()
}
