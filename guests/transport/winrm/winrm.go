// Package winrm implements transport.Transport over WinRM (WS-Management
// with the WinRS shell) for Windows guests, with the SSH transport's
// semantics: a non-zero exit status is data, a per-command deadline stops
// the remote process (a WinRS terminate signal), files move with SHA-256
// checks, and a Client is safe for concurrent use.
//
// It is built on github.com/masterzen/winrm's SOAP request builders and
// response parsers. The HTTP layer and the command loop are ours:
// masterzen's cannot pin a certificate, ignore contexts, create a shell
// per Run* call and hide a broken Receive behind exit code 0.
//
// Only HTTPS is spoken, with the guest's certificate pinned (generated
// by the harness per guest, as SSH host keys are). Plain HTTP with NTLM
// message encryption is not offered yet: see Config.
package winrm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/masterzen/winrm"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
)

// Auth is how the client logs in.
type Auth int

const (
	// AuthNTLM is NTLMv2 (the "Negotiate" scheme), the default: Windows
	// local accounts log in with it and Basic is off on a stock guest.
	AuthNTLM Auth = iota
	// AuthBasic is HTTP Basic, only ever over the pinned TLS channel.
	AuthBasic
)

// Config describes how to reach one guest.
type Config struct {
	// Addr is host:port of the HTTPS listener (a bare host gets 5986).
	Addr     string
	User     string
	Password drivers.Secret
	Auth     Auth
	// CertSHA256 pins the guest's TLS certificate: "sha256:" and the hex
	// SHA-256 of its DER (CertFingerprint). Required: any other
	// certificate is refused with a *transport.HostKeyError.
	CertSHA256 string
	// ConnectTimeout bounds the TCP connect and TLS handshake (default 10 s).
	ConnectTimeout time.Duration
	// OperationTimeout is the Receive long poll asked of the server
	// (default 20 s); the HTTP request is bounded a little above it.
	OperationTimeout time.Duration
	// RecycleAfter is how many commands one shell runs before a fresh
	// one replaces it (default 300; Windows limits a shell's lifetime
	// commands and processes, and a quota fault recycles at once).
	RecycleAfter int
	// MaxScript, when positive, also bounds a command's script in
	// characters. Zero: the only bound is MaxCommandLine, which is what
	// Windows enforces (about 3000 ASCII characters of script once
	// encoded as -EncodedCommand).
	MaxScript int
}

func (c *Config) defaults() error {
	if c.Addr == "" {
		return errors.New("winrm: Config.Addr is empty")
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		c.Addr = net.JoinHostPort(c.Addr, "5986")
	}
	if c.User == "" || c.Password == "" {
		return errors.New("winrm: Config needs a User and a Password")
	}
	if !strings.HasPrefix(c.CertSHA256, "sha256:") || len(c.CertSHA256) != len("sha256:")+64 {
		return errors.New(`winrm: Config.CertSHA256 is required ("sha256:<64 hex>"): the guest's certificate is always pinned`)
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.OperationTimeout <= 0 {
		c.OperationTimeout = 20 * time.Second
	}
	if c.RecycleAfter <= 0 {
		c.RecycleAfter = 300
	}
	return nil
}

// Client is a WinRM connection to one guest. It implements
// transport.Transport and is safe for concurrent use.
type Client struct {
	cfg    Config
	params *winrm.Parameters
	p      *poster

	mu     sync.Mutex
	closed bool
	cur    *shell // the shell new commands go to
	stats  Stats
	create sync.Mutex // one shell creation at a time
}

var _ transport.Transport = (*Client)(nil)

// Stats counts what the client did, for tests and reports.
type Stats struct {
	Commands      int // commands started
	Shells        int // shells created
	Recycled      int // shells replaced after RecycleAfter commands
	QuotaRetries  int // commands retried on a fresh shell after a quota fault
	Terminated    int // commands stopped by a terminate signal on cancel
	ShellsDeleted int
}

// Stats returns a copy of the counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Dial checks cfg, then creates the first shell: the TLS handshake (with
// the pin) and the login happen here, bounded by ctx and ConnectTimeout.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.defaults(); err != nil {
		return nil, drivers.Wrap(drivers.ClassInput, "winrm dial", err)
	}
	c := &Client{cfg: cfg, p: newPoster(&cfg)}
	secs := int(cfg.OperationTimeout / time.Second)
	c.params = winrm.NewParameters(fmt.Sprintf("PT%dS", max(secs, 1)), "en-US", 153600)
	dctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout+cfg.OperationTimeout)
	defer cancel()
	sh, err := c.acquire(dctx)
	if err != nil {
		c.p.close()
		return nil, classify("winrm dial", err)
	}
	c.release(dctx, sh)
	return c, nil
}

// classify wraps security and credential errors with their class, so the
// CLI maps them to exit 2 and the runner never retries them.
func classify(op string, err error) error {
	if _, ok := errors.AsType[*transport.HostKeyError](err); ok {
		return drivers.Wrap(drivers.ClassSecurity, op, err)
	}
	if _, ok := errors.AsType[*transport.AuthError](err); ok {
		return drivers.Wrap(drivers.ClassInput, op, err)
	}
	return err
}

// Close deletes the current shell and closes idle connections. It is
// idempotent; calls after Close fail with transport.ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	sh := c.cur
	c.cur = nil
	if sh != nil {
		sh.retired = true
	}
	c.mu.Unlock()
	if sh != nil {
		c.mu.Lock()
		idle := sh.active == 0
		c.mu.Unlock()
		if idle {
			c.deleteShell(sh)
		}
	}
	c.p.close()
	return nil
}

// Addr is the guest address this client talks to.
func (c *Client) Addr() string { return c.cfg.Addr }
