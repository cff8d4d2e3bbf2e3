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
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	prev := ts.Nano()
	end := prev + d.Nanoseconds()
	res := MonoResult{}
	for {
		_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
		now := ts.Nano()
		res.Iterations++
		if delta := now - prev; delta < 0 {
			res.Decreases++
			res.MaxBackstepNS = max(res.MaxBackstepNS, -delta)
		} else {
			res.MaxGapNS = max(res.MaxGapNS, delta)
		}
		prev = now
		if now >= end {
			break
		}
	}
	res.Seconds = d.Seconds()
	return res
}
