package drivers

import (
	"errors"
	"fmt"
)

// Class is the classification of an error. It decides the verdict (FAIL vs
// ERROR) and the exit code (2 for bad input, 3 for harness or host).
type Class int

const (
	// ClassHost: the harness, the host or the connection to it broke.
	// Checks become ERROR; the run exits 3.
	ClassHost Class = iota
	// ClassInput: bad user input (plan, URI, image path, credentials).
	// The run exits 2 before anything is created, or after rolling back.
	ClassInput
	// ClassGuest: the guest misbehaved (never got an address, crashed).
	// Checks become FAIL.
	ClassGuest
	// ClassSecurity: a trust failure (host key mismatch, untrusted TLS
	// certificate). Treated as bad input for exit codes, and never retried.
	ClassSecurity
)

func (c Class) String() string {
	switch c {
	case ClassInput:
		return "input"
	case ClassGuest:
		return "guest"
	case ClassSecurity:
		return "security"
	default:
		return "host"
	}
}

// Error is a classified error.
type Error struct {
	Class Class
	Op    string // what was being done, e.g. "provision: create overlay"
	Err   error
}

func (e *Error) Error() string {
	if e.Op == "" {
		return e.Err.Error()
	}
	return e.Op + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds a classified error. The message must not contain secrets.
func Errorf(c Class, op, format string, args ...any) error {
	return &Error{Class: c, Op: op, Err: fmt.Errorf(format, args...)}
}

// Wrap classifies err (nil stays nil). An already classified error keeps
// its class and gains op as context.
func Wrap(c Class, op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return &Error{Class: e.Class, Op: op, Err: err}
	}
	return &Error{Class: c, Op: op, Err: err}
}

// ClassOf returns the class of err; unclassified errors are host errors.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return ClassHost
}

// ErrUnsupported is returned by optional operations a driver cannot do.
var ErrUnsupported = errors.New("not supported by this driver")
