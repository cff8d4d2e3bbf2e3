//go:build linux

package probe

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioBuf returns the benchmark's I/O buffer: n bytes of anonymous memory
// in 4 KiB pages (mmap, madvise MADV_NOHUGEPAGE), page-aligned as O_DIRECT
// wants, and a function that unmaps it.
//
// Not the Go heap: its arenas are 2 MiB-aligned, and with transparent
// huge pages "always" (Debian's default) a 1 MiB buffer there sits in
// one huge page, physically contiguous, so each O_DIRECT I/O is one
// scatter-gather segment instead of 256. fio's buffer (a plain malloc,
// an mmap too small and unaligned for a huge page) is 4 KiB pages; under
// emulation, where the guest kernel's per-segment work is costly, that
// alone made vcprobe's 1 MiB sequential figures 40% higher than fio's
// (measured: 8.3 vs 5.6 GB/s on the lab's Debian guest; fio with a
// huge-page buffer, --iomem_align=2m, read 7.6). Small pages are also
// what an application's buffer usually is.
// align is met by the page alignment (sectorSize is 512 here).
func ioBuf(n, align int) ([]byte, func(), error) {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, nil, err
	}
	// EINVAL on kernels without THP: then there are no huge pages anyway.
	_ = unix.Madvise(b, unix.MADV_NOHUGEPAGE)
	return b, func() { _ = unix.Munmap(b) }, nil
}

// openDisk opens path with O_DIRECT when asked; a filesystem that refuses
// O_DIRECT (tmpfs: EINVAL) falls back to buffered I/O, and the note says
// so.
func openDisk(path string, flag int, direct bool) (*os.File, bool, string, error) {
	if direct {
		f, err := os.OpenFile(path, flag|unix.O_DIRECT, 0o600)
		if err == nil {
			return f, true, "", nil
		}
		if !errors.Is(err, unix.EINVAL) {
			return nil, false, "", err
		}
		f, err = os.OpenFile(path, flag, 0o600)
		return f, false, "O_DIRECT refused by the filesystem (EINVAL); buffered I/O with fsync", err
	}
	f, err := os.OpenFile(path, flag, 0o600)
	return f, false, "", err
}

func isBlockDev(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode()&os.ModeDevice != 0
}

// sectorSize is the unit O_DIRECT transfers must use: 512, the bound
// this probe has always checked (the logical block size of the virtual
// disks it measures; a 4Kn disk refuses smaller I/O with EINVAL).
func sectorSize(path string) (int, error) { return 512, nil }

// ioFunc is the benchmark loop's I/O: rawIO on f's descriptor, or
// through os.File with goSyscall (kept to compare the two).
func ioFunc(f *os.File, write, goSyscall bool) func(buf []byte, off int64) (int, error) {
	if goSyscall {
		return fileIO(f, write)
	}
	fd := f.Fd()
	return func(buf []byte, off int64) (int, error) { return rawIO(fd, write, buf, off) }
}

// rawIO is one pread64/pwrite64 through RawSyscall6, which the Go
// runtime does not see as a syscall. Through os.File each I/O enters and
// leaves the runtime's syscall state, and an I/O that blocks longer than
// a sysmon tick (every 4 KiB O_DIRECT I/O under emulation) has its P
// retaken and handed off, so sysmon polls at 20 us and threads wake per
// I/O: under TCG, where every guest instruction costs host CPU, that
// halved 4 KiB IOPS against fio's plain pread/pwrite loop. The benchmark
// is one goroutine, so holding its P while the I/O blocks costs nothing.
// A short transfer is an error, as in fio's psync engine.
func rawIO(fd uintptr, write bool, buf []byte, off int64) (int, error) {
	nr := uintptr(unix.SYS_PREAD64)
	if write {
		nr = unix.SYS_PWRITE64
	}
	for {
		n, _, e := unix.RawSyscall6(nr, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), uintptr(off), 0, 0)
		switch {
		case e == unix.EINTR:
			continue
		case e != 0:
			return 0, e
		case int(n) != len(buf):
			return int(n), fmt.Errorf("short transfer: %d of %d bytes at offset %d", n, len(buf), off)
		}
		return int(n), nil
	}
}

// DropCaches asks the kernel to drop the page cache (root only).
func DropCaches() error {
	unix.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200)
}
