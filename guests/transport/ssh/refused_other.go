//go:build !windows

package ssh

import (
	"errors"
	"syscall"
)

// isRefused reports whether a dial failed on a refused connect (RST).
func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
