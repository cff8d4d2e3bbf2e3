// Package ssh implements transport.Transport over SSH (golang.org/x/crypto/ssh).
//
// One Client holds one SSH connection to a guest; every Run opens its own
// session on it (x/crypto multiplexes sessions), so all checks on a guest
// share a single TCP connection and a single handshake. The guest's host key
// is pinned: there is deliberately no option to skip verification.
package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
)

// Config describes how to reach one guest.
type Config struct {
	// Addr is host:port (a bare host gets port 22).
	Addr string
	User string
	// Signer is the client key (the per-run key injected through the seed).
	Signer ssh.Signer
	// Password is optional; it is offered after the key.
	Password drivers.Secret
	// HostKey is the pinned host key. Required: a guest presenting any
	// other key is refused with *transport.HostKeyError.
	HostKey ssh.PublicKey
	// HandshakeTimeout bounds TCP connect + SSH handshake + auth
	// (default 20 s). ClientConfig.Timeout alone covers only the connect.
	HandshakeTimeout time.Duration
	// KeepAlive is the interval of keepalive@openssh.com requests
	// (default 10 s; negative disables). After KeepAliveMax unanswered
	// requests in a row (default 3) the connection is declared dead and
	// closed, so blocked Runs return instead of hanging.
	KeepAlive    time.Duration
	KeepAliveMax int
	// Dial, when set, opens the TCP connection (e.g. through the guest's
	// host, an SSH jump); nil dials directly.
	Dial drivers.DialFunc
}

// dial opens the TCP connection to c.Addr.
func (c *Config) dial(ctx context.Context) (net.Conn, error) {
	if c.Dial != nil {
		return c.Dial(ctx, "tcp", c.Addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", c.Addr)
}

func (c *Config) defaults() error {
	if c.Addr == "" {
		return errors.New("ssh: Config.Addr is empty")
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		c.Addr = net.JoinHostPort(c.Addr, "22")
	}
	if c.User == "" {
		return errors.New("ssh: Config.User is empty")
	}
	if c.HostKey == nil {
		return errors.New("ssh: Config.HostKey is required (host keys are always pinned)")
	}
	if c.Signer == nil && c.Password == "" {
		return errors.New("ssh: Config needs a Signer or a Password")
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 20 * time.Second
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = 10 * time.Second
	}
	if c.KeepAliveMax <= 0 {
		c.KeepAliveMax = 3
	}
	return nil
}

// Client is an SSH connection to one guest. It implements
// transport.Transport and is safe for concurrent use.
type Client struct {
	cfg  Config
	conn *ssh.Client

	mu      sync.Mutex
	closed  bool
	deadErr error // why the connection was declared dead (keepalive)
	sftp    sftpState

	stop chan struct{}
	wg   sync.WaitGroup
}

var _ transport.Transport = (*Client)(nil)

// Fingerprint returns the SHA256 fingerprint of k, as OpenSSH prints it.
func Fingerprint(k ssh.PublicKey) string { return ssh.FingerprintSHA256(k) }

// hostKeyAlgorithms restricts negotiation to the pinned key's type so a
// server holding several host keys presents the one we pinned (otherwise
// x/crypto may pick another type and report a false mismatch).
func hostKeyAlgorithms(k ssh.PublicKey) []string {
	switch k.Type() {
	case ssh.KeyAlgoRSA:
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	default:
		return []string{k.Type()}
	}
}

// Dial connects, verifies the pinned host key and authenticates. The
// whole sequence is bounded by cfg.HandshakeTimeout and by ctx.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.defaults(); err != nil {
		return nil, drivers.Wrap(drivers.ClassInput, "ssh dial", err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.HandshakeTimeout)
	defer cancel()

	raw, err := cfg.dial(ctx)
	if err != nil {
		return nil, &netError{op: "connect", addr: cfg.Addr, err: err}
	}
	return handshake(ctx, raw, cfg)
}

func handshake(ctx context.Context, raw net.Conn, cfg Config) (*Client, error) {
	var hkErr *transport.HostKeyError
	var auth []ssh.AuthMethod
	if cfg.Signer != nil {
		auth = append(auth, ssh.PublicKeys(cfg.Signer))
	}
	if cfg.Password != "" {
		pw := cfg.Password
		auth = append(auth, ssh.PasswordCallback(func() (string, error) { return pw.Reveal(), nil }))
	}
	pinned := cfg.HostKey.Marshal()
	cc := &ssh.ClientConfig{
		User: cfg.User,
		Auth: auth,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if bytes.Equal(key.Marshal(), pinned) {
				return nil
			}
			hkErr = &transport.HostKeyError{Addr: cfg.Addr, Want: Fingerprint(cfg.HostKey), Got: Fingerprint(key)}
			return hkErr
		},
		HostKeyAlgorithms: hostKeyAlgorithms(cfg.HostKey),
		Timeout:           cfg.HandshakeTimeout,
	}

	// NewClientConn has no context and no timeout of its own: a server
	// that accepts TCP and then says nothing would block it forever. A
	// deadline on the raw conn bounds the handshake, and closing the
	// conn when ctx ends aborts it.
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(raw, cfg.Addr, cc)
	stopped := stop()
	if err != nil {
		raw.Close()
		switch {
		case hkErr != nil:
			return nil, drivers.Wrap(drivers.ClassSecurity, "ssh handshake", hkErr)
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, drivers.Wrap(drivers.ClassInput, "ssh auth", &transport.AuthError{Addr: cfg.Addr, Err: err})
		case !stopped || ctx.Err() != nil:
			return nil, &netError{op: "handshake", addr: cfg.Addr, err: fmt.Errorf("%w (%v)", ctx.Err(), err)}
		}
		return nil, &netError{op: "handshake", addr: cfg.Addr, err: err}
	}
	_ = raw.SetDeadline(time.Time{})
	c := &Client{cfg: cfg, conn: ssh.NewClient(sc, chans, reqs), stop: make(chan struct{})}
	if cfg.KeepAlive > 0 {
		c.wg.Add(1)
		go c.keepalive()
	}
	return c, nil
}

// netError is a network-level failure (connect, handshake I/O, drop). It
// is classified as a host error: retryable by WaitReady.
type netError struct {
	op, addr string
	err      error
}

func (e *netError) Error() string { return "ssh " + e.op + " " + e.addr + ": " + e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

// IsNetwork reports whether err is a network failure (retryable), as
// opposed to a host key mismatch or an authentication failure.
func IsNetwork(err error) bool {
	var n *netError
	return errors.As(err, &n)
}

// keepalive sends keepalive@openssh.com on a ticker. Any reply (OpenSSH
// and dropbear answer "failure", which is fine) proves the peer alive.
func (c *Client) keepalive() {
	defer c.wg.Done()
	tk := time.NewTicker(c.cfg.KeepAlive)
	defer tk.Stop()
	missed := 0
	for {
		select {
		case <-c.stop:
			return
		case <-tk.C:
		}
		res := make(chan error, 1)
		go func() {
			_, _, err := c.conn.SendRequest("keepalive@openssh.com", true, nil)
			res <- err
		}()
		var err error
		select {
		case err = <-res:
		case <-time.After(c.cfg.KeepAlive):
			err = errors.New("no reply within " + c.cfg.KeepAlive.String())
		case <-c.stop:
			return
		}
		if err == nil {
			missed = 0
			continue
		}
		missed++
		if missed >= c.cfg.KeepAliveMax {
			c.mu.Lock()
			if c.deadErr == nil {
				c.deadErr = fmt.Errorf("connection to %s dead: %d keepalives unanswered (last: %v)", c.cfg.Addr, missed, err)
			}
			c.mu.Unlock()
			c.conn.Close()
			return
		}
	}
}

// Err reports why the connection is unusable (closed, or dead per
// keepalive), or nil.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return transport.ErrClosed
	}
	return c.deadErr
}

func (c *Client) brokenErr(err error) error {
	if errors.Is(err, io.EOF) && !c.alive(aliveWait) {
		// A session that cannot even start because the peer hung up
		// means the connection is gone: say so through Err, so callers
		// redial instead of retrying on a dead client.
		c.mu.Lock()
		if c.deadErr == nil && !c.closed {
			c.deadErr = fmt.Errorf("connection to %s closed by the peer (%v)", c.cfg.Addr, err)
		}
		c.mu.Unlock()
	}
	if e := c.Err(); e != nil {
		return &netError{op: "session", addr: c.cfg.Addr, err: fmt.Errorf("%w (%v)", e, err)}
	}
	return &netError{op: "session", addr: c.cfg.Addr, err: err}
}

// aliveWait bounds the liveness probe after a session ended in EOF.
const aliveWait = 5 * time.Second

// alive reports whether the peer answers a global request within max: a
// session can end in EOF on a live connection (the server closed just
// that channel), and only a dead connection must be redialled.
func (c *Client) alive(max time.Duration) bool {
	res := make(chan error, 1)
	go func() {
		_, _, err := c.conn.SendRequest("keepalive@openssh.com", true, nil)
		res <- err
	}()
	select {
	case err := <-res:
		return err == nil
	case <-time.After(max):
		return false
	}
}

// Run runs cmd in a new session. A non-zero exit is Result.Exit; err is
// set only when the connection broke or ctx (or cmd.Timeout) ended, in
// which case the remote command is sent SIGKILL and its session closed.
func (c *Client) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	res := transport.Result{Cmd: cmd.Cmd}
	var stdout, stderr lockedBuffer
	err := c.runStreams(ctx, cmd, &stdout, &stderr, &res.Exit, &res.Duration)
	res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()
	return res, err
}

// lockedBuffer is a bytes.Buffer safe against the session's copy
// goroutines, which may still deliver output after a cancelled Run has
// returned.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Bytes returns a copy of what was written so far.
func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// runStreams is Run with caller-provided output writers (Download uses it
// to stream a file without buffering it).
func (c *Client) runStreams(ctx context.Context, cmd transport.Command, stdout, stderr io.Writer, exit *int, dur *time.Duration) error {
	if err := c.Err(); err != nil {
		return err
	}
	if cmd.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cmd.Timeout)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	start := time.Now()
	defer func() { *dur = time.Since(start) }()
	s, err := opened(ctx, cmd.Cmd, func() (*ssh.Session, error) {
		return c.startSession(ctx, cmd.Cmd, func(s *ssh.Session) error {
			s.Stdout, s.Stderr = stdout, stderr
			if cmd.Stdin != nil {
				s.Stdin = cmd.Stdin
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	defer s.Close()
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// Stop the remote command: a signal where the server honours
		// it (OpenSSH, our test server), then close the channel, which
		// makes most servers hang up on the process. Wait briefly so
		// the goroutine does not outlive the call for long.
		_ = s.Signal(ssh.SIGKILL)
		s.Close()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
		return fmt.Errorf("ssh run %q: %w", short(cmd.Cmd), ctx.Err())
	}
	var ee *ssh.ExitError
	switch {
	case err == nil:
		*exit = 0
		return nil
	case errors.As(err, &ee):
		if ee.Signal() != "" && ee.ExitStatus() == 0 {
			*exit = 128 + signalNumber(ee.Signal())
		} else {
			*exit = ee.ExitStatus()
		}
		return nil
	}
	var em *ssh.ExitMissingError
	if errors.As(err, &em) {
		return c.brokenErr(fmt.Errorf("command %q ended without exit status (connection dropped?)", short(cmd.Cmd)))
	}
	return c.brokenErr(fmt.Errorf("command %q: %w", short(cmd.Cmd), err))
}

// startSession opens a session, lets prepare attach its streams (before
// the exec request, as x/crypto/ssh requires) and starts cmd in it, unless
// ctx ended while the session opened (see opened). Run and Start share it.
func (c *Client) startSession(ctx context.Context, cmd string, prepare func(*ssh.Session) error) (*ssh.Session, error) {
	for attempt := 1; ; attempt++ {
		s, err := c.conn.NewSession()
		if err != nil {
			return nil, c.brokenErr(fmt.Errorf("new session: %w", err))
		}
		if err := ctx.Err(); err != nil {
			s.Close()
			return nil, err
		}
		if err := prepare(s); err != nil {
			s.Close()
			return nil, err
		}
		err = s.Start(cmd)
		if err == nil {
			return s, nil
		}
		s.Close()
		// EOF before the server answered the exec request: it closed
		// the session without running anything. dropbear does that to
		// a session opened while another one's process is exiting. On
		// a live connection, one more session is safe: nothing ran.
		if attempt == 1 && errors.Is(err, io.EOF) && c.alive(aliveWait) {
			continue
		}
		return nil, c.brokenErr(fmt.Errorf("start: %w", err))
	}
}

// opened returns what open (startSession) returns, or an error as soon as
// ctx ends: a guest that stops answering (paused, frozen, its sshd hung)
// leaves the channel or exec request pending, and x/crypto/ssh takes no
// context for either (drivers.WithinFreeing). open does not start its
// command once ctx has ended: a session that opens late is closed unused,
// so nothing runs (and no stdin is read) after the caller has moved on.
// One that started just as ctx ended has its command killed and is
// closed, as a cancelled Run's is. Closing the connection ends a request
// that never gets an answer.
func opened(ctx context.Context, cmd string, open func() (*ssh.Session, error)) (*ssh.Session, error) {
	s, err, done := drivers.WithinFreeing(ctx, open, func(s *ssh.Session) {
		_ = s.Signal(ssh.SIGKILL)
		s.Close()
	})
	if !done {
		return nil, fmt.Errorf("ssh run %q: no session before the deadline: %w", short(cmd), err)
	}
	return s, err
}

func short(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

func signalNumber(sig string) int {
	switch sig {
	case "HUP":
		return 1
	case "INT":
		return 2
	case "QUIT":
		return 3
	case "KILL":
		return 9
	case "PIPE":
		return 13
	case "TERM":
		return 15
	}
	return 0
}

// Close closes the connection. It is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.stop)
	c.mu.Unlock()
	err := c.conn.Close()
	c.wg.Wait()
	if err != nil && errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// Wait blocks until the underlying connection ends and returns why.
func (c *Client) Wait() error { return c.conn.Wait() }

// Addr is the address this client is connected to.
func (c *Client) Addr() string { return c.cfg.Addr }
