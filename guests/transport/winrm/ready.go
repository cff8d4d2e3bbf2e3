package winrm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/virtcert/virtcert/guests/transport"
)

// ReadyProbe is the readiness probe on Windows guests: a real command.
const ReadyProbe = "exit 0"

func init() { transport.RegisterDialer("winrm", DialReady) }

// ReadyOptions tunes WaitReady.
type ReadyOptions struct {
	// MaxAuthFailures stops waiting after this many refused logins
	// (HTTP 401; default 5). A Windows guest may refuse the password for
	// a while as it boots: cloudbase-init's default plugin order sets it
	// after UserData has bound the listener. More than a few refusals
	// mean a wrong password; the cap also stays well below Windows'
	// account lockout threshold (10 on Windows 11).
	MaxAuthFailures int
	// AuthPause is the pause after a refused login (default 3 s).
	AuthPause time.Duration
	// Backoff is the first pause after any other retried failure
	// (default 250 ms); it doubles up to MaxBackoff (default 3 s).
	Backoff, MaxBackoff time.Duration
	// ProbeTimeout bounds the probe command (default 30 s).
	ProbeTimeout time.Duration
}

func (o *ReadyOptions) defaults() {
	if o.MaxAuthFailures <= 0 {
		o.MaxAuthFailures = 5
	}
	if o.AuthPause <= 0 {
		o.AuthPause = 3 * time.Second
	}
	if o.Backoff <= 0 {
		o.Backoff = 250 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 3 * time.Second
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = 30 * time.Second
	}
}

// DialReady is the "winrm" transport.Dialer: a.HostKey is the pinned
// certificate ("sha256:<hex>"), a.Password the admin password, a.Dial
// (when set) opens the connections. It is WaitReady with the default
// options.
func DialReady(ctx context.Context, addr string, a transport.Access) (transport.Transport, string, error) {
	cfg := Config{Addr: addr, User: a.User, Password: a.Password, CertSHA256: a.HostKey, Dial: a.Dial}
	c, detail, err := WaitReady(ctx, cfg, ReadyOptions{})
	if c == nil { // not a non-nil Transport holding a nil *Client
		return nil, detail, err
	}
	return c, detail, err
}

// WaitReady dials cfg until the guest runs ReadyProbe, and returns the
// client. Network failures are retried with backoff until ctx ends.
// While Windows boots, cloudbase-init may still be setting the password
// or replacing the HTTPS listener, so:
//   - a refused login (401) is retried up to MaxAuthFailures times;
//   - a certificate that is not the pinned one is retried until ctx
//     ends, and reported (the SECURITY *transport.HostKeyError of class
//     security) only when it is still the guest's answer then. The pin
//     is checked in the TLS handshake, before any request: nothing, no
//     credential either, is sent to an unpinned peer.
//
// Any other refusal (a guest that will not seal, a failing probe) stops
// at once.
func WaitReady(ctx context.Context, cfg Config, opts ReadyOptions) (*Client, string, error) {
	opts.defaults()
	start := time.Now()
	backoff := opts.Backoff
	// answer is the guest's last refusal (a wrong certificate or a
	// refused login), cleared by a network failure: what to report if
	// ctx ends while the guest still gives it.
	var last, answer error
	authFailures := 0
	for attempt := 1; ; attempt++ {
		c, err := tryReady(ctx, cfg, opts.ProbeTimeout)
		detail := fmt.Sprintf("winrm %d attempt(s) in %s", attempt, time.Since(start).Round(time.Millisecond))
		if err == nil {
			return c, detail, nil
		}
		pause := backoff
		_, mismatch := errors.AsType[*transport.HostKeyError](err)
		_, refused := errors.AsType[*transport.AuthError](err)
		switch {
		case mismatch:
			answer = err
		case refused:
			authFailures++
			if authFailures >= opts.MaxAuthFailures {
				return nil, detail, fmt.Errorf("giving up after %d authentication failures: %w", authFailures, err)
			}
			answer = err
			pause = opts.AuthPause
		case IsNetwork(err) || errors.Is(err, context.DeadlineExceeded):
			if ctx.Err() == nil {
				// A real answer (not the end of ctx cutting this
				// attempt short): the guest no longer shows the wrong
				// certificate or refuses the password.
				answer = nil
			}
		default:
			return nil, detail, err
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, detail, notReady(ctx, cfg.Addr, last, answer, authFailures)
		case <-time.After(pause):
		}
		if !refused {
			backoff = min(backoff*2, opts.MaxBackoff)
		}
	}
}

// tryReady is one attempt: a dial (TLS with the pin, then the login) and
// the probe; the client when the probe exited 0.
func tryReady(ctx context.Context, cfg Config, probeTimeout time.Duration) (*Client, error) {
	c, err := Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	r, err := c.Run(ctx, transport.Command{Cmd: ReadyProbe, Timeout: probeTimeout})
	if err == nil && r.Exit == 0 {
		return c, nil
	}
	c.Close()
	if err == nil {
		err = fmt.Errorf("probe %q exited %d: %s", ReadyProbe, r.Exit, short(string(r.Stderr)))
	}
	return nil, err
}

// notReady is WaitReady's error when ctx ended: at the deadline, the
// guest's refusal as it still stands (a wrong certificate is the
// SECURITY error as it is); otherwise the last failure with ctx's error.
func notReady(ctx context.Context, addr string, last, answer error, authFailures int) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && answer != nil {
		if _, refused := errors.AsType[*transport.AuthError](answer); refused {
			return fmt.Errorf("giving up after %d authentication failures: %w", authFailures, answer)
		}
		return answer
	}
	return fmt.Errorf("winrm %s not ready (%v): %w", addr, last, ctx.Err())
}
