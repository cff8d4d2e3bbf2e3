package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

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
	// 250 ms); it doubles up to MaxBackoff (default 3 s). A refused
	// connect sets it back to the first: the guest's kernel answered,
	// only its SSH server is not listening yet (a boot, or the end of a
	// reboot), and it will be within moments. After fastRefusals refusals
	// in a row (a port that stays closed) it doubles again.
	Backoff, MaxBackoff time.Duration
	// ProbeInterval is the pause between probes on one connection while
	// the probe exits non-zero (default 500 ms): the guest answers SSH
	// but is still configuring itself (cloud-init), and asking again on
	// the open connection costs one session, not a new handshake.
	ProbeInterval time.Duration
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
	opts.defaults()
	if err := cfg.defaults(); err != nil {
		return nil, ReadyStats{}, drivers.Wrap(drivers.ClassInput, "ssh wait", err)
	}
	w := &waiter{cfg: cfg, opts: opts, start: time.Now(), backoff: opts.Backoff}
	for {
		c, err := w.attempt(ctx, probe)
		if c == nil && err == nil {
			if perr := w.pause(ctx); perr != nil {
				err = fmt.Errorf("ssh %s not ready (%s): %w", cfg.Addr, w.st.LastError, perr)
			}
		}
		if c != nil || err != nil {
			w.st.Total = time.Since(w.start)
			return c, w.st, err
		}
	}
}

func (o *ReadyOptions) defaults() {
	if o.MaxAuthFailures <= 0 {
		o.MaxAuthFailures = 3
	}
	if o.Backoff <= 0 {
		o.Backoff = 250 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 3 * time.Second
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = 500 * time.Millisecond
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 3 * time.Second
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = 30 * time.Second
	}
}

// waiter is one WaitReady: its options, its stats and its backoff.
type waiter struct {
	cfg          Config
	opts         ReadyOptions
	st           ReadyStats
	start, tcpUp time.Time
	backoff      time.Duration
	refusals     int // TCP connects refused in a row
}

// fastRefusals bounds the refused connects answered at the first backoff
// (about 10 s at the default 250 ms).
const fastRefusals = 40

// probeConnLife is how long probes are repeated on one connection before
// it is replaced: a guest that goes silent meanwhile (a cloud-init
// reboot) is then seen by a fresh connect rather than by keepalives.
const probeConnLife = 10 * time.Second

// attempt makes one try: a TCP connect, the handshake and login on it,
// then the probe. It returns the client when the probe passed, an error
// when waiting longer is pointless (a host key mismatch, too many
// refused logins), and neither when the try is worth repeating (the
// failure is noted in the stats).
func (w *waiter) attempt(ctx context.Context, probe string) (*Client, error) {
	raw := w.connect(ctx)
	if raw == nil {
		return nil, nil
	}
	c, err := w.login(ctx, raw)
	if c == nil {
		return nil, err
	}
	up := time.Now()
	for {
		ok, retry := w.probe(ctx, c, probe)
		if ok {
			return c, nil
		}
		if !retry || time.Since(up) > probeConnLife {
			c.Close()
			return nil, nil
		}
		if w.sleep(ctx, w.opts.ProbeInterval) != nil {
			c.Close()
			return nil, nil // WaitReady's pause sees ctx's end and says so
		}
	}
}

// connect is phase 1: one TCP connect, nil when it failed.
func (w *waiter) connect(ctx context.Context) net.Conn {
	w.st.TCPAttempts++
	cctx, cancel := context.WithTimeout(ctx, w.opts.ConnectTimeout)
	defer cancel()
	raw, err := w.cfg.dial(cctx)
	if isRefused(err) {
		w.refusals++
	} else {
		w.refusals = 0
	}
	if err != nil {
		w.note("tcp", w.st.TCPAttempts, err)
		return nil
	}
	if w.tcpUp.IsZero() {
		w.tcpUp = time.Now()
		w.st.TCPTime = w.tcpUp.Sub(w.start)
	}
	return raw
}

// login is phase 2's handshake and authentication on raw. Auth failures
// are counted apart from the rest: a booting guest refuses connections,
// not keys.
func (w *waiter) login(ctx context.Context, raw net.Conn) (*Client, error) {
	w.st.HandshakeAttempts++
	hctx, cancel := context.WithTimeout(ctx, w.cfg.HandshakeTimeout)
	c, err := handshake(hctx, raw, w.cfg)
	cancel()
	if err == nil {
		return c, nil
	}
	if _, ok := errors.AsType[*transport.HostKeyError](err); ok {
		w.note("handshake", w.st.HandshakeAttempts, err)
		return nil, err
	}
	if _, ok := errors.AsType[*transport.AuthError](err); !ok {
		w.note("handshake", w.st.HandshakeAttempts, err)
		return nil, nil
	}
	w.st.AuthFailures++
	w.note("auth", w.st.AuthFailures, err)
	if w.st.AuthFailures >= w.opts.MaxAuthFailures {
		return nil, fmt.Errorf("giving up after %d authentication failures: %w", w.st.AuthFailures, err)
	}
	return nil, nil
}

// probe runs the probe command on c: ok when it exits 0. Otherwise the
// failure is noted, and retry says whether c is still good for another
// probe (the command ran and exited non-zero) or must be replaced (the
// session itself failed).
func (w *waiter) probe(ctx context.Context, c *Client, probe string) (ok, retry bool) {
	w.st.ProbeAttempts++
	r, err := c.Run(ctx, transport.Command{Cmd: probe, Timeout: w.opts.ProbeTimeout})
	if err == nil && r.Exit == 0 {
		w.st.SSHTime = time.Since(w.tcpUp)
		return true, false
	}
	if err == nil {
		w.note("probe", w.st.ProbeAttempts, fmt.Errorf("probe %q exited %d: %s", short(probe), r.Exit, short(string(r.Stderr))))
		return false, true
	}
	w.note("probe", w.st.ProbeAttempts, err)
	return false, false
}

// note records a failed attempt.
func (w *waiter) note(phase string, n int, err error) {
	w.st.LastError = phase + ": " + err.Error()
	if w.opts.Log != nil {
		w.opts.Log(phase, n, err)
	}
}

// pause waits out the backoff, doubling it up to MaxBackoff; after a
// refused connect (not too many in a row) it waits the first backoff and
// starts over. ctx's error when ctx ends first.
func (w *waiter) pause(ctx context.Context) error {
	if w.refusals > 0 && w.refusals <= fastRefusals {
		w.backoff = w.opts.Backoff
	}
	d := w.backoff
	w.backoff = min(w.backoff*2, w.opts.MaxBackoff)
	return w.sleep(ctx, d)
}

// sleep waits d; ctx's error when ctx ends first.
func (w *waiter) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
