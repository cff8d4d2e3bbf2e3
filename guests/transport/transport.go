// Package transport defines how the harness talks to a guest's operating
// system: run a command, copy files. SSH (Linux) and WinRM (Windows)
// implement it with identical semantics (after Packer's Communicator).
package transport

import (
	"context"
	"errors"
	"io"
	"time"
)

// Transport is a connection to one guest OS. Implementations keep one
// underlying connection and open a session per call; they are safe for
// concurrent use.
type Transport interface {
	// Run runs cmd in the guest. A non-zero exit status is data in
	// Result.Exit, not an error: err is non-nil only when the transport
	// broke or ctx ended (the remote command is then stopped).
	Run(ctx context.Context, cmd Command) (Result, error)

	// Upload writes r to path in the guest with mode.
	Upload(ctx context.Context, path string, r io.Reader, mode uint32) error

	// Download streams the guest file at path into w.
	Download(ctx context.Context, path string, w io.Writer) error

	// Close closes the connection. Calls after Close fail with ErrClosed.
	Close() error
}

// Command is one remote command.
type Command struct {
	// Cmd is the command line, interpreted by the guest's shell (sh -c on
	// Linux, PowerShell on Windows). Build it from constant text; guest
	// paths and values go through Quote.
	Cmd   string
	Stdin io.Reader
	// Timeout bounds this command (0: only ctx bounds it).
	Timeout time.Duration
}

// Result is what a command returned.
type Result struct {
	Cmd      string        `json:"cmd"`
	Stdout   []byte        `json:"-"`
	Stderr   []byte        `json:"-"`
	Exit     int           `json:"exit"`
	Duration time.Duration `json:"duration_ns"`
}

// OK reports whether the command exited 0.
func (r Result) OK() bool { return r.Exit == 0 }

// Errors.
var (
	ErrClosed = errors.New("transport closed")
)

// HostKeyError reports that the guest presented a host key other than the
// pinned one. It is a security error: never retried, never ignored.
type HostKeyError struct {
	Addr string
	Want string // fingerprint of the pinned key
	Got  string // fingerprint presented
	// What names the identity: "host key" (SSH, the default) or "TLS
	// certificate" (WinRM over HTTPS).
	What string
}

func (e *HostKeyError) Error() string {
	what := e.What
	if what == "" {
		what = "host key"
	}
	return "SECURITY: " + what + " for " + e.Addr + " does not match the pinned key (want " + e.Want + ", got " + e.Got + ")"
}

// AuthError reports that the guest refused our credentials.
type AuthError struct {
	Addr string
	Err  error
}

func (e *AuthError) Error() string {
	return "authentication to " + e.Addr + " failed: " + e.Err.Error()
}
func (e *AuthError) Unwrap() error { return e.Err }

// Quote quotes s for a POSIX shell.
func Quote(s string) string {
	out := make([]byte, 0, len(s)+2)
	out = append(out, '\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, `'\''`...)
			continue
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}
