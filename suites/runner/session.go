package runner

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
)

// session is one guest and the connection to it. It owns the transport
// (any transport.Transport: the runner names no SSH), the pinned access,
// reconnects (asking the driver for the address again between dials),
// the helper's upload and removal, and the console. Checks reach the
// guest through suites.Target, whose OS the session keeps current.
type session struct {
	g       drivers.Guest
	spec    drivers.GuestSpec
	addr    string
	access  transport.Access
	dial    transport.Dialer
	kind    string // the transport kind ("ssh")
	guestOS string // the image's OS family (linux, windows)
	image   string // the image's name in the plan (for messages)
	// askOther: a guest that never answers may be asked on the other OS's
	// ports (neverReady). False when Options.Dial stands in for the
	// transports (tests) and the host gives no dialer of its own: such a
	// guest's address is made up and must not be dialled.
	askOther bool
	ready    time.Duration // the ready timeout, for reconnects
	os       transport.Transport
	helper   string
	offered  bool // the helper's upload was tried (ensureHelper)
	retries  int  // transient provisioning failures retried
	// trips counts round trips to the guest (commands and streams) over
	// every connection of the session.
	trips atomic.Int64
	log   *slog.Logger
}

// connect dials the guest for the first time and waits until it answers
// within rctx (the ready timeout); ctx (the run's) bounds the look at
// the guest's other ports when it never answers (neverReady).
func (s *session) connect(ctx, rctx context.Context) error {
	x, detail, err := s.dial(rctx, s.addr, s.access)
	if err != nil {
		return s.neverReady(ctx, detail, err)
	}
	s.os = count(x, &s.trips)
	return nil
}

// reconnect dials the guest again (after a reboot or a dropped
// connection) within the ready timeout. A rebooted guest may come back
// with another DHCP lease, so between dial attempts the driver is asked
// for the address again.
func (s *session) reconnect(ctx context.Context) (transport.Transport, error) {
	rctx, cancel := context.WithTimeout(ctx, s.ready)
	defer cancel()
	attempt := min(20*time.Second, max(s.ready/4, 250*time.Millisecond))
	for {
		dctx, dcancel := context.WithTimeout(rctx, attempt)
		x, _, err := s.dial(dctx, s.addr, s.access)
		dcancel()
		if err == nil {
			if s.os != nil {
				s.os.Close()
			}
			s.os = count(x, &s.trips)
			return s.os, nil
		}
		if _, ok := errors.AsType[*transport.HostKeyError](err); ok || rctx.Err() != nil {
			return nil, err
		}
		s.refreshAddress(rctx)
	}
}

// refreshAddress asks the driver for the guest's address and follows a
// new lease (keeping a non-default port).
func (s *session) refreshAddress(ctx context.Context) {
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	addr, err := s.g.Address(actx)
	cancel()
	if err != nil || addr == "" {
		return
	}
	if _, _, e := net.SplitHostPort(addr); e != nil {
		if _, port, e := net.SplitHostPort(s.addr); e == nil && port != "22" {
			addr = net.JoinHostPort(addr, port)
		}
	}
	if addr != s.addr {
		s.log.Info("guest address changed", "guest", s.g.Name(), "old", s.addr, "new", addr)
		s.addr = addr
	}
}

// alive returns a working transport: the current one when it answers,
// else a new connection.
func (s *session) alive(ctx context.Context) (transport.Transport, error) {
	if !broken(s.os) {
		if _, err := s.os.Run(ctx, transport.Command{Cmd: "true", Timeout: 10 * time.Second}); err == nil {
			return s.os, nil
		}
	}
	return s.reconnect(ctx)
}

// broken reports whether a transport knows it is dead (the SSH client
// exposes Err after a failed keepalive or a closed connection).
func broken(x transport.Transport) bool {
	if e, ok := x.(interface{ Err() error }); ok {
		return e.Err() != nil
	}
	return true // unknown: let the caller probe
}

// upload copies the helper at local into the guest; "" when there is no
// helper or the upload failed (checks that need it SKIP with their own
// reason). note gets the reason for the user.
func (s *session) upload(ctx context.Context, local string, note func(string, ...any)) string {
	if local == "" {
		return ""
	}
	local = helperLocal(s.guestOS, local)
	f, err := os.Open(local)
	if err != nil {
		note("vcprobe not available (%s): checks that need it will SKIP", reports.Clean(err.Error()))
		return ""
	}
	defer f.Close()
	uctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	dst := helperPath(s.guestOS)
	if err := s.os.Upload(uctx, dst, f, 0o755); err != nil {
		note("vcprobe upload failed (%s): checks that need it will SKIP", reports.Clean(err.Error()))
		return ""
	}
	return dst
}

// uploadHelper puts the helper in place after connecting; a connection
// that died right after readiness (seen on the loaded lab with dropbear)
// is redialled once and the upload tried again.
func (s *session) uploadHelper(ctx context.Context, local string, note func(string, ...any)) {
	s.helper = s.upload(ctx, local, note)
	if s.helper != "" || local == "" || !broken(s.os) {
		return
	}
	if _, err := s.reconnect(ctx); err == nil {
		s.helper = s.upload(ctx, local, note)
	}
}

// ensureHelper uploads the helper the first time a check that uses it
// is about to run (suites.UsesHelper); a guest whose checks never use it
// gets none (a Windows guest's upload over WinRM takes long).
func (s *session) ensureHelper(ctx context.Context, local string, note func(string, ...any)) {
	if s.offered {
		return
	}
	s.offered = true
	s.uploadHelper(ctx, local, note)
}

// restoreHelper uploads the helper again when it is gone (a reboot
// empties /tmp).
func (s *session) restoreHelper(ctx context.Context, local string, note func(string, ...any)) {
	if s.helper == "" {
		return
	}
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	res, err := s.os.Run(hctx, transport.Command{Cmd: helperPresentCmd(s.guestOS, s.helper)})
	cancel()
	if err == nil && !res.OK() {
		s.helper = s.upload(ctx, local, note)
	}
}

// removeHelper deletes the helper (an existing machine outlives the run).
func (s *session) removeHelper(ctx context.Context) {
	if s.helper == "" || s.os == nil {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, _ = s.os.Run(cctx, transport.Command{Cmd: helperRemoveCmd(s.guestOS, s.helper)})
}

// close closes the connection.
func (s *session) close() {
	if s.os != nil {
		s.os.Close()
	}
}

// gone asks the host whether the guest is still there and running: nil
// when it is (or the host cannot tell), else a classified error (a crash
// is the guest's fault, a vanished guest the host's).
func (s *session) gone(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	st, err := s.g.State(sctx)
	if err != nil {
		return nil
	}
	switch st {
	case drivers.StateCrashed:
		return drivers.Errorf(drivers.ClassGuest, "", "guest crashed (host reports state crashed)")
	case drivers.StateOff:
		return drivers.Errorf(drivers.ClassGuest, "", "guest stopped unexpectedly (host reports state off)")
	case drivers.StateNotFound:
		return drivers.Errorf(drivers.ClassHost, "", "guest vanished from the host (destroyed from outside the run)")
	}
	// A panicked kernel without a pvpanic device leaves the domain
	// "running" (spinning): the console tells, and that is the guest's
	// fault, not a harness error.
	if b, err := s.g.Console(sctx); err == nil {
		if line := panicLine(b); line != "" {
			return drivers.Errorf(drivers.ClassGuest, "", "guest kernel panicked (console: %s)", line)
		}
	}
	return nil
}

// panicLine returns the last kernel panic line of a console log, or "".
func panicLine(console []byte) string {
	const marker = "Kernel panic - not syncing"
	i := bytes.LastIndex(console, []byte(marker))
	if i < 0 {
		return ""
	}
	line := console[i:]
	if j := bytes.IndexAny(line, "\r\n"); j >= 0 {
		line = line[:j]
	}
	if len(line) > 200 {
		line = line[:200]
	}
	return reports.Clean(string(line))
}
