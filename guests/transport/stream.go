package transport

import (
	"context"
	"io"
)

// Streamer is an optional capability of a Transport: one long-running
// remote process with piped stdin and stdout, for request/response
// protocols over one session (vcprobe clock: one line in, one sample
// out, with no process start per sample). Checks find it by type
// assertion and fall back when it is missing.
type Streamer interface {
	// Start runs cmd and returns at once; ctx ending kills it.
	Start(ctx context.Context, cmd string) (*Process, error)
}

// Process is a remote command started by a Streamer.
type Process struct {
	Stdin  io.WriteCloser
	Stdout io.Reader
	wait   func() (int, error)
	kill   func()
}

// NewProcess is for Streamer implementations: wait closes stdin, waits
// and returns the exit status (non-zero exit is not an error); kill stops
// the command.
func NewProcess(stdin io.WriteCloser, stdout io.Reader, wait func() (int, error), kill func()) *Process {
	return &Process{Stdin: stdin, Stdout: stdout, wait: wait, kill: kill}
}

// Wait closes stdin, waits for the command and returns its exit status.
func (p *Process) Wait() (int, error) { return p.wait() }

// Kill stops the remote command.
func (p *Process) Kill() { p.kill() }
