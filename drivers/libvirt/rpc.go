package libvirt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket"

	"github.com/virtcert/virtcert/drivers"
)

// conn is one libvirt RPC connection with our own deadlines around it.
//
// go-libvirt has no context support: a call to a libvirtd that stopped
// answering blocks forever. Every call therefore runs in a goroutine and
// we return when ctx ends. The connection is then marked broken and its
// socket closed (which makes go-libvirt fail the abandoned call), and the
// next call dials a fresh connection. The same path recovers from a
// libvirtd restart.
type conn struct {
	uri    string // for messages only; never carries secrets
	dialer socket.Dialer
	remote golibvirt.ConnectURI

	mu     sync.Mutex
	lv     *golibvirt.Libvirt
	nc     net.Conn // the socket under lv, closed to unblock lv
	closed bool
}

// trackingDialer remembers the net.Conn it made so that conn can close it.
type trackingDialer struct {
	inner socket.Dialer
	mu    sync.Mutex
	last  net.Conn
}

func (d *trackingDialer) Dial() (net.Conn, error) {
	c, err := d.inner.Dial()
	d.mu.Lock()
	d.last = c
	d.mu.Unlock()
	return c, err
}

// get returns a live client, dialling a new one when needed.
func (c *conn) get(ctx context.Context) (*golibvirt.Libvirt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, drivers.Errorf(drivers.ClassHost, "libvirt", "connection to %s is closed", c.uri)
	}
	if c.lv != nil && c.lv.IsConnected() {
		return c.lv, nil
	}
	if c.nc != nil {
		c.nc.Close()
		c.lv, c.nc = nil, nil
	}
	td := &trackingDialer{inner: c.dialer}
	lv, err, done := drivers.Within(ctx, func() (*golibvirt.Libvirt, error) {
		lv := golibvirt.NewWithDialer(td)
		if err := lv.ConnectToURI(c.remote); err != nil {
			return nil, err
		}
		return lv, nil
	})
	td.mu.Lock()
	nc := td.last
	td.mu.Unlock()
	if !done {
		// The dial may still complete; make sure it cannot linger.
		go func() {
			<-ctx.Done()
			td.mu.Lock()
			if td.last != nil {
				td.last.Close()
			}
			td.mu.Unlock()
		}()
		return nil, drivers.Errorf(drivers.ClassHost, "libvirt connect", "%s did not answer: %w", c.uri, err)
	}
	if err != nil {
		// Wrap keeps the class of a classified dial error (a host key or
		// certificate refused is a security error, not an unreachable host).
		return nil, drivers.Wrap(drivers.ClassHost, "libvirt connect", fmt.Errorf("cannot reach libvirt at %s: %w", c.uri, err))
	}
	c.lv, c.nc = lv, nc
	return lv, nil
}

// markBroken drops lv if it is still the current client.
func (c *conn) markBroken(lv *golibvirt.Libvirt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lv == lv && c.nc != nil {
		c.nc.Close()
		c.lv, c.nc = nil, nil
	}
}

func (c *conn) close() error {
	c.mu.Lock()
	lv, nc := c.lv, c.nc
	c.lv, c.nc, c.closed = nil, nil, true
	c.mu.Unlock()
	if lv == nil {
		return nil
	}
	// Disconnect politely, but never wait on a libvirtd that hangs.
	done := make(chan struct{})
	go func() {
		lv.Disconnect()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeTimeout):
		nc.Close()
	}
	return nil
}

// do runs one RPC (or a few that belong together) under ctx.
func do[T any](ctx context.Context, c *conn, op string, f func(l *golibvirt.Libvirt) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, drivers.Errorf(drivers.ClassHost, op, "%w", err)
	}
	lv, err := c.get(ctx)
	if err != nil {
		return zero, drivers.Wrap(drivers.ClassHost, op, err)
	}
	v, err, done := drivers.Within(ctx, func() (T, error) { return f(lv) })
	if !done {
		c.markBroken(lv)
		return zero, drivers.Errorf(drivers.ClassHost, op, "libvirt call abandoned (%w); connection marked broken, the next call reconnects", err)
	}
	if err != nil {
		if !lv.IsConnected() {
			c.markBroken(lv)
		}
		return zero, classify(op, err)
	}
	return v, nil
}

// do0 is do for calls without a result.
func do0(ctx context.Context, c *conn, op string, f func(l *golibvirt.Libvirt) error) error {
	_, err := do(ctx, c, op, func(l *golibvirt.Libvirt) (struct{}, error) { return struct{}{}, f(l) })
	return err
}

// classify wraps a libvirt error with a class: bad input for things the
// user named wrongly, host for the rest. Guest classification is done by
// the callers that know a guest is at fault.
func classify(op string, err error) error {
	var le golibvirt.Error
	if errors.As(err, &le) {
		switch golibvirt.ErrorNumber(le.Code) {
		case golibvirt.ErrNoStoragePool, golibvirt.ErrNoNetwork, golibvirt.ErrInvalidArg,
			golibvirt.ErrXMLError, golibvirt.ErrConfigUnsupported:
			return drivers.Wrap(drivers.ClassInput, op, err)
		case golibvirt.ErrAuthFailed, golibvirt.ErrAuthCancelled, golibvirt.ErrAuthUnavailable:
			return drivers.Wrap(drivers.ClassInput, op, err)
		}
		msg := strings.ToLower(le.Message)
		if strings.Contains(msg, "no such file") || strings.Contains(msg, "cannot access storage file") ||
			strings.Contains(msg, "could not open") {
			return drivers.Wrap(drivers.ClassInput, op, err)
		}
	}
	return drivers.Wrap(drivers.ClassHost, op, err)
}

// libvirtCode returns the libvirt error number in err, or -1.
func libvirtCode(err error) golibvirt.ErrorNumber {
	var le golibvirt.Error
	if errors.As(err, &le) {
		return golibvirt.ErrorNumber(le.Code)
	}
	return -1
}

func isNoDomain(err error) bool { return libvirtCode(err) == golibvirt.ErrNoDomain }
func isNoVol(err error) bool    { return libvirtCode(err) == golibvirt.ErrNoStorageVol }
