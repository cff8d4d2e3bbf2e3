//go:build !linux

package probe

import (
	"errors"
	"time"
)

// The measurements run in Linux guests only (vcprobe is built for
// linux/amd64); these stubs let the controller side build everywhere.

var errLinuxOnly = errors.New("vcprobe measurements need Linux")

// DiskBench is Linux-only.
func DiskBench(o DiskOptions) (DiskResult, error) {
	return DiskResult{Error: errLinuxOnly.Error()}, errLinuxOnly
}

// DropCaches is Linux-only.
func DropCaches() error { return errLinuxOnly }

// Integrity is Linux-only.
func Integrity(path string, size int64, seed uint64, phase string, direct bool) IntegrityResult {
	return IntegrityResult{Path: path, Size: size, Phase: phase, WriteError: errLinuxOnly.Error()}
}

// Now reads the clocks through the time package.
func Now() (real, mono int64) {
	n := time.Now()
	return n.UnixNano(), n.UnixNano()
}

// MonoCheck is Linux-only.
func MonoCheck(d time.Duration) MonoResult { return MonoResult{} }
