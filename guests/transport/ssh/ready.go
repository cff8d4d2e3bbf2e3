package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
)

// ReadyOptions tunes WaitReady.
type ReadyOptions struct {
	// MaxAuthFailures stops waiting after this many refused logins
	// (default 3). They are counted apart from network failures: a guest
	// still booting refuses connections, it does not refuse keys, so
	// repeated auth failures mean bad credentials, not "not yet".
	MaxAuthFailures int
	// Backoff is the first pause after a network failure (default
	// 250 ms); it doubles up to MaxBackoff (default 3 s).
	Backoff, MaxBackoff time.Duration
	// ConnectTimeout bounds one TCP connect attempt (default 3 s).
	ConnectTimeout time.Duration
	// ProbeTimeout bounds the probe command (default 30 s).
	ProbeTimeout time.Duration
	// Log, when set, is told about every failed attempt.
	Log func(phase string, attempt int, err error)
}

// ReadyStats records how readiness went, per phase.
type ReadyStats struct {
	TCPAttempts       int           `json:"tcp_attempts"`
	TCPTime           time.Duration `json:"tcp_ns"` // until the first successful connect
	HandshakeAttempts int           `json:"handshake_attempts"`
	AuthFailures      int           `json:"auth_failures"`
	ProbeAttempts     int           `json:"probe_attempts"`
	SSHTime           time.Duration `json:"ssh_ns"` // from first TCP success to a passing probe
	Total             time.Duration `json:"total_ns"`
	LastError         string        `json:"last_error,omitempty"`
}

// WaitReady waits until cfg.Addr answers SSH and probe exits 0, and
// returns the connected client. Phase 1 waits for a TCP connect; phase 2
// does the handshake and runs probe (a real command, e.g. "test -e
// /run/cloud-init/result.json" or "true"). Network failures are retried
// with backoff until ctx ends; a host key mismatch stops at once; auth
// failures stop after MaxAuthFailures.
func WaitReady(ctx context.Context, cfg Config, probe string, opts ReadyOptions) (*Client, ReadyStats, error) {
	var st ReadyStats
	if opts.MaxAuthFailures <= 0 {
		opts.MaxAuthFailures = 3
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 250 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 3 * time.Second
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 3 * time.Second
	}
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = 30 * time.Second
	}
	if err := cfg.defaults(); err != nil {
		return nil, st, drivers.Wrap(drivers.ClassInput, "ssh wait", err)
	}
	start := time.Now()
	defer func() { st.Total = time.Since(start) }()
	backoff := opts.Backoff
	var tcpUp time.Time
	note := func(phase string, n int, err error) {
		st.LastError = phase + ": " + err.Error()
		if opts.Log != nil {
			opts.Log(phase, n, err)
		}
	}
	sleep := func() error {
		t := time.NewTimer(backoff)
		defer t.Stop()
		backoff = min(backoff*2, opts.MaxBackoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	fail := func(err error) (*Client, ReadyStats, error) {
		st.Total = time.Since(start)
		return nil, st, err
	}
	for {
		// Phase 1: TCP.
		st.TCPAttempts++
		cctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
		var d net.Dialer
		raw, err := d.DialContext(cctx, "tcp", cfg.Addr)
		cancel()
		if err != nil {
			note("tcp", st.TCPAttempts, err)
			if ctx.Err() != nil {
				return fail(fmt.Errorf("ssh %s not ready (%s): %w", cfg.Addr, st.LastError, ctx.Err()))
			}
			if err := sleep(); err != nil {
				return fail(fmt.Errorf("ssh %s not ready (%s): %w", cfg.Addr, st.LastError, err))
			}
			continue
		}
		if tcpUp.IsZero() {
			tcpUp = time.Now()
			st.TCPTime = tcpUp.Sub(start)
		}
		// Phase 2: handshake + auth on the same connection, then probe.
		st.HandshakeAttempts++
		hctx, cancel := context.WithTimeout(ctx, cfg.HandshakeTimeout)
		c, err := handshake(hctx, raw, cfg)
		cancel()
		if err != nil {
			var hk *transport.HostKeyError
			var ae *transport.AuthError
			switch {
			case errors.As(err, &hk):
				note("handshake", st.HandshakeAttempts, err)
				return fail(err)
			case errors.As(err, &ae):
				st.AuthFailures++
				note("auth", st.AuthFailures, err)
				if st.AuthFailures >= opts.MaxAuthFailures {
					return fail(fmt.Errorf("giving up after %d authentication failures: %w", st.AuthFailures, err))
				}
			default:
				note("handshake", st.HandshakeAttempts, err)
			}
			if ctx.Err() != nil {
				return fail(fmt.Errorf("ssh %s not ready (%s): %w", cfg.Addr, st.LastError, ctx.Err()))
			}
			if err := sleep(); err != nil {
				return fail(fmt.Errorf("ssh %s not ready (%s): %w", cfg.Addr, st.LastError, err))
			}
			continue
		}
		st.ProbeAttempts++
		r, err := c.Run(ctx, transport.Command{Cmd: probe, Timeout: opts.ProbeTimeout})
		if err == nil && r.Exit == 0 {
			st.SSHTime = time.Since(tcpUp)
			st.Total = time.Since(start)
			return c, st, nil
		}
		c.Close()
		if err == nil {
			err = fmt.Errorf("probe %q exited %d: %s", short(probe), r.Exit, short(string(r.Stderr)))
		}
		note("probe", st.ProbeAttempts, err)
		if ctx.Err() != nil {
			return fail(fmt.Errorf("ssh %s not ready (%s): %w", cfg.Addr, st.LastError, ctx.Err()))
		}
		if err := sleep(); err != nil {
			return fail(fmt.Errorf("ssh %s not ready (%s): %w", cfg.Addr, st.LastError, err))
		}
	}
}

// Start runs cmd with piped stdin/stdout and returns at once. It is for
// request/response protocols over one session (vcprobe clock: one line
// in, one sample out), where a session per sample would cost a process
// start each. ctx ending kills the remote command.
func (c *Client) Start(ctx context.Context, cmd string) (*transport.Process, error) {
	if err := c.Err(); err != nil {
		return nil, err
	}
	s, err := c.conn.NewSession()
	if err != nil {
		return nil, c.brokenErr(fmt.Errorf("new session: %w", err))
	}
	in, err := s.StdinPipe()
	if err != nil {
		s.Close()
		return nil, err
	}
	out, err := s.StdoutPipe()
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Start(cmd); err != nil {
		s.Close()
		return nil, c.brokenErr(fmt.Errorf("start: %w", err))
	}
	kill := func() {
		_ = s.Signal(ssh.SIGKILL)
		s.Close()
	}
	stop := context.AfterFunc(ctx, kill)
	wait := func() (int, error) {
		in.Close()
		err := s.Wait()
		stop()
		s.Close()
		var ee *ssh.ExitError
		if errors.As(err, &ee) {
			return ee.ExitStatus(), nil
		}
		if err != nil {
			return -1, err
		}
		return 0, nil
	}
	return transport.NewProcess(in, out, wait, kill), nil
}

var _ transport.Streamer = (*Client)(nil)
