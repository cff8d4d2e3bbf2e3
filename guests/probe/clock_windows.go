//go:build windows

package probe

import (
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Windows' precise clocks: GetSystemTimePreciseAsFileTime for real time
// (time.Now reads the coarser system time the kernel updates each timer
// tick, up to 15.6 ms apart) and QueryPerformanceCounter for monotonic
// time. Neither can run here (wine cannot run Go 1.26 binaries): this
// file is proven by review against the documented APIs and by building.

var (
	kernel32 = windows.NewLazySystemDLL("kernel32.dll")
	qpc      = kernel32.NewProc("QueryPerformanceCounter")
	qpf      = kernel32.NewProc("QueryPerformanceFrequency")
	qpcFreq  int64
)

func init() {
	// The frequency is fixed at boot; documented never to fail on XP and
	// later.
	qpf.Call(uintptr(unsafe.Pointer(&qpcFreq)))
}

// Now reads the real-time clock (ns since 1970) and the performance
// counter (ns since boot).
func Now() (real, mono int64) {
	var ft windows.Filetime
	windows.GetSystemTimePreciseAsFileTime(&ft)
	return ft.Nanoseconds(), monoNow()
}

// monoNow is QueryPerformanceCounter in nanoseconds.
func monoNow() int64 {
	var c int64
	qpc.Call(uintptr(unsafe.Pointer(&c)))
	return ticksToNS(c, qpcFreq)
}

// MonoCheck reads the performance counter in a tight loop for d and
// counts readings that went backwards.
func MonoCheck(d time.Duration) MonoResult {
	return monoScan(monoNow, d)
}
