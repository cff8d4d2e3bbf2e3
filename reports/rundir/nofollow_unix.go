//go:build !windows

package rundir

import "syscall"

// oNoFollow makes an open fail on a symlink.
const oNoFollow = syscall.O_NOFOLLOW

// oNonBlock keeps an open of a FIFO from waiting for a writer.
const oNonBlock = syscall.O_NONBLOCK
