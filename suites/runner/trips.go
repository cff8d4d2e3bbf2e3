package runner

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/virtcert/virtcert/guests/transport"
)

// counted is a session's transport that counts round trips: every command
// and every started stream opens one guest session. Gathering the
// read-only evidence is judged by this count.
type counted struct {
	transport.Transport
	n *atomic.Int64
}

// countedStreamer keeps the optional Streamer capability visible.
type countedStreamer struct {
	counted
	st transport.Streamer
}

// errUnknownState: the wrapped transport cannot tell whether it is
// broken (broken then probes it, as for any such transport).
var errUnknownState = errors.New("transport state unknown")

// count wraps x so its round trips add to n.
func count(x transport.Transport, n *atomic.Int64) transport.Transport {
	c := counted{Transport: x, n: n}
	if st, ok := x.(transport.Streamer); ok {
		return &countedStreamer{counted: c, st: st}
	}
	return &c
}

// Run implements transport.Transport.
func (c *counted) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	c.n.Add(1)
	return c.Transport.Run(ctx, cmd)
}

// Err reports the wrapped transport's own state, if it knows it.
func (c *counted) Err() error {
	if e, ok := c.Transport.(interface{ Err() error }); ok {
		return e.Err()
	}
	return errUnknownState
}

// Start implements transport.Streamer.
func (c *countedStreamer) Start(ctx context.Context, cmd string) (*transport.Process, error) {
	c.n.Add(1)
	return c.st.Start(ctx, cmd)
}

// Unwrap returns the wrapped transport.
func (c *counted) Unwrap() transport.Transport { return c.Transport }
