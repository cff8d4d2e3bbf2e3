package ssh

import (
	"errors"
	"syscall"
)

// wsaeConnRefused is Winsock's WSAECONNREFUSED: a Windows dial fails
// with it, not with syscall.ECONNREFUSED (an invented value there).
const wsaeConnRefused syscall.Errno = 10061

// isRefused reports whether a dial failed on a refused connect (RST).
func isRefused(err error) bool { return errors.Is(err, wsaeConnRefused) }
