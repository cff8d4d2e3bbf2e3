package suites

import (
	"errors"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
)

// HostStep records one host operation of a check (a driver call) as
// evidence: Command "host: "+command, what came back (output, or the
// error; "ok" when neither) and how long it took. Every check reports its
// driver calls through it, so they read the same in every report.
func (t *T) HostStep(step, command, output string, err error, took time.Duration) {
	switch {
	case err != nil:
		output = err.Error()
	case output == "":
		output = "ok"
	}
	t.Evidence(reports.Evidence{Step: step, Command: "host: " + command, Output: output, Duration: took})
}

// HostFailed decides what a failed host step means for the check and
// stops it: a driver that cannot do op (drivers.ErrUnsupported) SKIPs
// with the reason, a guest-class error FAILs (the guest did not
// cooperate), anything else is ERROR (the host or the harness broke). It
// returns when err is nil.
func (t *T) HostFailed(op string, err error) {
	switch {
	case err == nil:
		return
	case errors.Is(err, drivers.ErrUnsupported):
		t.Skipf("host driver cannot %s: %v", op, err)
	case drivers.ClassOf(err) == drivers.ClassGuest:
		t.Fatalf("host %s: %v", op, err)
	}
	t.Errorf("host %s: %v", op, err)
}
