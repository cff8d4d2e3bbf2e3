//go:build !linux

package probe

import "errors"

// The disk measurements run in Linux guests only; these stubs let the
// controller side and vcprobe's Windows build (clock, mono and TCP only:
// unbuffered Windows disk I/O is not written yet) build everywhere.

var errLinuxOnly = errors.New("vcprobe disk measurements need Linux (not implemented for this OS)")

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
