//go:build windows

package probe

// Unbuffered disk I/O on Windows. BUILT AND VETTED, NEVER RUN: no Windows
// can be had where this was written, and Debian's wine cannot run Go 1.26
// binaries (bcryptprimitives.dll not found). What this file does is
// checked by review against Microsoft's documentation ("File Buffering",
// CreateFileW, GetDiskFreeSpaceW); the logic around it (sizes, alignment,
// the loop, statistics, the JSON result) is diskrun.go's, unit-tested on
// Linux.

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// procGetDiskFreeSpaceW is GetDiskFreeSpaceW, called by hand:
// golang.org/x/sys/windows wraps only GetDiskFreeSpaceExW, which does
// not give the sector size.
var procGetDiskFreeSpaceW = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetDiskFreeSpaceW")

// openDisk opens path for unbuffered I/O when direct is set:
// FILE_FLAG_NO_BUFFERING (no system file cache: offsets, sizes and buffer
// addresses in whole sectors, which diskrun.go's alignment and checks
// give) and FILE_FLAG_WRITE_THROUGH (a completed write is on the disk, as
// O_DIRECT plus the disk's own cache on Linux). Without direct, a plain
// buffered os.OpenFile.
func openDisk(path string, flag int, direct bool) (*os.File, bool, string, error) {
	if !direct {
		f, err := os.OpenFile(path, flag, 0o600)
		return f, false, "", err
	}
	access := uint32(windows.GENERIC_READ)
	switch flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR) {
	case os.O_WRONLY:
		access = windows.GENERIC_WRITE
	case os.O_RDWR:
		access = windows.GENERIC_READ | windows.GENERIC_WRITE
	}
	create := uint32(windows.OPEN_EXISTING)
	if flag&os.O_CREATE != 0 {
		create = windows.OPEN_ALWAYS
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, false, "", &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, access, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, create,
		windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_NO_BUFFERING|windows.FILE_FLAG_WRITE_THROUGH, 0)
	if err != nil {
		return nil, false, "", &os.PathError{Op: "CreateFile", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), true, "", nil
}

// isBlockDev: a device path (\\.\PhysicalDrive1, \\.\E:).
func isBlockDev(path string) bool { return strings.HasPrefix(path, `\\.\`) }

// ioBuf is a Go-heap buffer aligned to align (a whole number of sectors,
// at least a page).
func ioBuf(n, align int) ([]byte, func(), error) { return alignedBuf(n, align), func() {}, nil }

// ioFunc is the loop's I/O: ReadFile/WriteFile at an offset through
// os.File (-gosyscall changes nothing here).
func ioFunc(f *os.File, write, goSyscall bool) func(buf []byte, off int64) (int, error) {
	return fileIO(f, write)
}

// sectorSize is the bytes per sector of the volume holding path
// (GetDiskFreeSpaceW on the volume's root, found by GetVolumePathNameW).
// A device path has no volume root here: unknown.
func sectorSize(path string) (int, error) {
	if isBlockDev(path) {
		return 0, errors.New("a device path: its volume's sector size is not asked")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, err
	}
	p, err := windows.UTF16PtrFromString(abs)
	if err != nil {
		return 0, err
	}
	root := make([]uint16, windows.MAX_PATH+1)
	if err := windows.GetVolumePathName(p, &root[0], uint32(len(root))); err != nil {
		return 0, err
	}
	var sectorsPerCluster, bytesPerSector, freeClusters, totalClusters uint32
	r, _, e := procGetDiskFreeSpaceW.Call(uintptr(unsafe.Pointer(&root[0])),
		uintptr(unsafe.Pointer(&sectorsPerCluster)), uintptr(unsafe.Pointer(&bytesPerSector)),
		uintptr(unsafe.Pointer(&freeClusters)), uintptr(unsafe.Pointer(&totalClusters)))
	if r == 0 {
		return 0, e
	}
	return int(bytesPerSector), nil
}

// DropCaches: Windows offers no call to drop the system file cache, and
// none is needed with direct: unbuffered reads bypass it. The result
// records this text (not a failure).
func DropCaches() error {
	return errors.New("not available on Windows; unbuffered reads (FILE_FLAG_NO_BUFFERING) bypass the file cache")
}
