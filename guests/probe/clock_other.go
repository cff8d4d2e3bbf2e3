//go:build !linux && !windows

package probe

import "time"

// Now reads the clocks through the time package.
func Now() (real, mono int64) {
	n := time.Now()
	return n.UnixNano(), n.UnixNano()
}

// MonoCheck is not measured on this OS.
func MonoCheck(d time.Duration) MonoResult { return MonoResult{} }
