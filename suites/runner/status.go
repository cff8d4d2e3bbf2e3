package runner

import (
	"errors"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
)

// needError says why a check cannot run here through no fault of the
// guest, the host or the harness (a need the target cannot meet, a check
// that does not apply): the check SKIPs with the reason.
type needError struct {
	reason string
}

func (e *needError) Error() string { return e.reason }

// naError says a check does not apply to the target's hypervisor or
// guest OS (suites.NotApplicable gives the reason): the check is N/A,
// kept apart from SKIP.
type naError struct {
	reason string
}

func (e *naError) Error() string { return e.reason }

// statusOf is the one place that decides a result's status from an
// error met outside a check (setting up the target, its peer, keeping
// the connection) or a check that cannot run: an naError (a check that
// does not apply to this hypervisor or OS) is N/A, a needError (a missing
// need) is SKIP, each with its reason; the guest
// misbehaving (drivers.ClassGuest) is FAIL; the harness, the host, the
// input or a trust failure is ERROR. Never by message text.
func statusOf(err error) reports.Status {
	switch {
	case err == nil:
		return reports.Pass
	case isNA(err):
		return reports.NA
	case isNeed(err):
		return reports.Skip
	case drivers.ClassOf(err) == drivers.ClassGuest:
		return reports.Fail
	}
	return reports.Error
}

func isNA(err error) bool {
	_, ok := errors.AsType[*naError](err)
	return ok
}

func isNeed(err error) bool {
	_, ok := errors.AsType[*needError](err)
	return ok
}

// guestFault classifies err as the guest's fault whatever class it had
// (the guest never got an address, never answered, crashed).
func guestFault(op string, err error) error {
	return &drivers.Error{Class: drivers.ClassGuest, Op: op, Err: err}
}

// hostFault classifies err as the host's or the harness's unless it is
// classified already.
func hostFault(op string, err error) error { return drivers.Wrap(drivers.ClassHost, op, err) }
