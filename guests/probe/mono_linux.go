//go:build linux

package probe

import (
	"time"

	"golang.org/x/sys/unix"
)

// Now reads CLOCK_REALTIME and CLOCK_MONOTONIC directly (not through Go's
// time package, which hides the raw monotonic value).
func Now() (real, mono int64) {
	var r, m unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_REALTIME, &r)
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &m)
	return r.Nano(), m.Nano()
}

// MonoCheck reads CLOCK_MONOTONIC in a tight loop for d and counts
// readings that went backwards.
func MonoCheck(d time.Duration) MonoResult {
	return monoScan(monotonicNow, d)
}

// monotonicNow is CLOCK_MONOTONIC in nanoseconds.
func monotonicNow() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}
