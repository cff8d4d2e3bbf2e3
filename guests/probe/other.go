//go:build !linux && !windows

package probe

import (
	"errors"
	"os"
)

// The disk measurements run in Linux and Windows guests; these stubs let
// the controller side build everywhere else.

var errNoDisk = errors.New("vcprobe disk measurements need Linux or Windows (not implemented for this OS)")

func openDisk(path string, flag int, direct bool) (*os.File, bool, string, error) {
	return nil, false, "", errNoDisk
}

func isBlockDev(path string) bool { return false }

func ioBuf(n, align int) ([]byte, func(), error) { return nil, nil, errNoDisk }

func ioFunc(f *os.File, write, goSyscall bool) func(buf []byte, off int64) (int, error) {
	return fileIO(f, write)
}

func sectorSize(path string) (int, error) { return 0, errNoDisk }

// DropCaches is not available here.
func DropCaches() error { return errNoDisk }
