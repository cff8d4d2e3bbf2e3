package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
)

// TestStatusOf: the status of every error path outside a check, decided
// in one place from the error's type and class.
func TestStatusOf(t *testing.T) {
	base := errors.New("boom")
	for _, c := range []struct {
		path string
		err  error
		want reports.Status
	}{
		{"no error", nil, reports.Pass},
		{"host open failed", hostFault("host h1", base), reports.Error},
		{"bad profile (input)", drivers.Wrap(drivers.ClassInput, "profile", base), reports.Error},
		{"existing image without a pinned host key", drivers.Errorf(drivers.ClassInput, "image i", "needs host_key"), reports.Error},
		{"provision failed", hostFault("provision g", base), reports.Error},
		{"provision failed with a guest-class error", hostFault("provision g", drivers.Wrap(drivers.ClassGuest, "boot", base)), reports.Fail},
		{"never got an address (host-classified cause)", guestFault("guest g never got an address", drivers.Wrap(drivers.ClassHost, "lease", base)), reports.Fail},
		{"never answered", guestFault("guest g at a never answered SSH ()", base), reports.Fail},
		{"host key changed", drivers.Wrap(drivers.ClassSecurity, "guest g", &transport.HostKeyError{}), reports.Error},
		{"interrupted while connecting", hostFault("connect", context.Canceled), reports.Error},
		{"guest crashed", drivers.Errorf(drivers.ClassGuest, "", "guest crashed"), reports.Fail},
		{"guest vanished", drivers.Errorf(drivers.ClassHost, "", "guest vanished"), reports.Error},
		{"lost the connection", &drivers.Error{Class: drivers.ClassHost, Op: "lost the connection to the guest", Err: drivers.Wrap(drivers.ClassGuest, "x", base)}, reports.Error},
		{"unreachable after a disruptive check", guestFault("guest unreachable after lifecycle.reboot", base), reports.Fail},
		{"host key changed after a reboot", &drivers.Error{Class: drivers.ClassSecurity, Op: "guest unreachable after lifecycle.reboot", Err: base}, reports.Error},
		{"plan declines the peer", &needError{reason: "plan sets peer: none"}, reports.Skip},
		{"peer host could not be opened", hostFault("peer host h2", base), reports.Error},
		{"peer guest could not be provisioned", &drivers.Error{Class: drivers.ClassHost, Op: "peer guest (h/i)", Err: guestFault("never got an address", base)}, reports.Error},
		{"wrapped need", fmt.Errorf("target: %w", &needError{reason: "y"}), reports.Skip},
	} {
		if got := statusOf(c.err); got != c.want {
			t.Errorf("%s: %s, want %s", c.path, got, c.want)
		}
	}
}

// TestNeverAnswers: a guest that does not answer within the ready
// timeout is the guest's fault (FAIL), though the dial ends with the
// timeout's context error.
func TestNeverAnswers(t *testing.T) {
	h, d := newFakeHost(), &fakeDial{}
	o := opts(t, h, d, okCheck)
	o.Dial = func(ctx context.Context, addr string, a transport.Access) (transport.Transport, string, error) {
		<-ctx.Done()
		return nil, "tcp 9 attempt(s)", ctx.Err()
	}
	run, _, _ := runP(context.Background(), testPlan(t, "matrix: [{host: h1, image: tiny}]\n"), o)
	if r := result(t, run.Targets[0], "platform.ok"); r.Status != reports.Fail || !strings.Contains(r.Reason, "never answered SSH (tcp 9 attempt(s))") {
		t.Errorf("got %s %q", r.Status, r.Reason)
	}
	if len(h.names()) != 0 {
		t.Errorf("guest left: %v", h.names())
	}
}
