//go:build linux

package probe

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// alignedBuf returns a len-n slice aligned to 4096 bytes, as O_DIRECT
// requires of the user buffer (Go's allocator gives no such guarantee).
func alignedBuf(n int) []byte {
	raw := make([]byte, n+4096)
	off := int(4096-uintptr(unsafe.Pointer(&raw[0]))%4096) % 4096
	return raw[off : off+n : off+n]
}

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
func ioBuf(n int) ([]byte, func(), error) {
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

// prepare makes sure a regular file holds size bytes of real data, so
// reads hit the disk instead of a sparse hole.
func prepare(path string, size int64, direct bool) error {
	if isBlockDev(path) {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() >= size {
		return nil
	}
	f, _, _, err := openDisk(path, os.O_WRONLY|os.O_CREATE, direct)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := alignedBuf(1 << 20)
	for off := 0; off < len(buf); off += BlockSize {
		FillBlock(buf[off:off+BlockSize], 0, 0)
	}
	for off := int64(0); off < size; off += int64(len(buf)) {
		n := min(int64(len(buf)), size-off)
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			return err
		}
	}
	return f.Sync()
}

// DiskBench runs one time-bounded disk measurement.
func DiskBench(o DiskOptions) (DiskResult, error) {
	res := DiskResult{Path: o.Path, Mode: o.Mode, BS: o.BS}
	if o.BS <= 0 || o.BS%512 != 0 || o.Size < int64(o.BS) {
		return res, fmt.Errorf("disk: bs must be a positive multiple of 512 and size >= bs (bs=%d size=%d)", o.BS, o.Size)
	}
	write := o.Mode == "seqwrite" || o.Mode == "randwrite"
	random := o.Mode == "randread" || o.Mode == "randwrite"
	switch o.Mode {
	case "seqwrite", "seqread", "randread", "randwrite":
	default:
		return res, fmt.Errorf("disk: unknown mode %q", o.Mode)
	}
	if err := prepare(o.Path, o.Size, o.Direct); err != nil {
		return res, fmt.Errorf("disk: prepare %s: %w", o.Path, err)
	}
	flag := os.O_RDONLY
	if write {
		flag = os.O_WRONLY
	}
	f, direct, note, err := openDisk(o.Path, flag, o.Direct)
	if err != nil {
		return res, fmt.Errorf("disk: open %s: %w", o.Path, err)
	}
	defer f.Close()
	res.Direct, res.Note = direct, note
	blocks := o.Size / int64(o.BS)
	buf, release, err := ioBuf(o.BS)
	if err != nil {
		return res, fmt.Errorf("disk: buffer: %w", err)
	}
	defer release()
	markBenchBuf(buf, o.BS)
	l := &diskLoop{f: f, fd: f.Fd(), write: write, random: random, goSyscall: o.GoSyscall, buf: buf, bs: o.BS, blocks: blocks,
		rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))}
	if o.Ramp > 0 {
		rs := time.Now()
		if _, _, err := l.run(rs.Add(o.Ramp)); err != nil {
			res.Error = "ramp: " + err.Error()
		}
		res.RampSeconds = time.Since(rs).Seconds()
	}
	start := time.Now()
	if res.Error == "" {
		res.Bytes, res.Ops, err = l.run(start.Add(o.Duration))
		if err != nil {
			res.Error = err.Error()
		}
	}
	res.Seconds = time.Since(start).Seconds()
	if write && res.Error == "" {
		// With O_DIRECT a completed pwrite is in the virtual disk, which
		// is what fio (no end_fsync) counts, so the closing fsync (a cache
		// flush the hypervisor may turn into a host fdatasync of every
		// dirty cluster: seconds under load) is timed apart and reported,
		// not folded into the figure. Buffered I/O (the EINVAL fallback)
		// has not reached the disk before fsync, so there it counts.
		fs := time.Now()
		if err := f.Sync(); err != nil {
			res.Error = "fsync: " + err.Error()
		}
		res.FsyncSeconds = time.Since(fs).Seconds()
		if !direct {
			res.Seconds += res.FsyncSeconds
		}
	}
	if res.Seconds > 0 {
		res.MBps = float64(res.Bytes) / res.Seconds / 1e6
		res.IOPS = float64(res.Ops) / res.Seconds
	}
	if res.Error != "" {
		return res, fmt.Errorf("disk %s: %s", o.Mode, res.Error)
	}
	return res, nil
}

// markBenchBuf fills a benchmark's write buffer of bs bytes. Written data
// carries the integrity pattern's magic at every 4 KiB, so a scratch disk
// used for a benchmark is still recognised as ours (and safe to
// overwrite) by the next check.
func markBenchBuf(buf []byte, bs int) {
	if bs >= BlockSize {
		for off := 0; off+BlockSize <= bs; off += BlockSize {
			FillBlock(buf[off:off+BlockSize], 0, 0)
		}
	} else {
		copy(buf, "VCPROBE1")
	}
}

// diskLoop is DiskBench's I/O loop over blocks blocks of bs bytes: one
// I/O at a time with pread/pwrite (queue depth 1), the same as fio
// --ioengine=psync --iodepth=1, which the suites run beside it.
type diskLoop struct {
	f                        *os.File
	fd                       uintptr
	write, random, goSyscall bool
	buf                      []byte
	bs                       int
	blocks, blk              int64
	rng                      *rand.Rand
}

// run runs I/Os until the deadline, going on from the block the last run
// stopped at; the clock is read every 16 I/Os: under emulation a clock
// read is not free, and a per-I/O read skews small-block IOPS against fio.
func (l *diskLoop) run(until time.Time) (bytes, ops int64, err error) {
	for i := 0; i%16 != 0 || time.Now().Before(until); i++ {
		b := l.blk % l.blocks
		if l.random {
			b = l.rng.Int64N(l.blocks)
		}
		off := b * int64(l.bs)
		var n int
		switch {
		case !l.goSyscall:
			n, err = rawIO(l.fd, l.write, l.buf, off)
		case l.write:
			n, err = l.f.WriteAt(l.buf, off)
		default:
			n, err = l.f.ReadAt(l.buf, off)
			if errors.Is(err, io.EOF) && n == l.bs {
				err = nil
			}
		}
		if err != nil {
			return bytes, ops, err
		}
		bytes += int64(n)
		ops++
		l.blk++
	}
	return bytes, ops, nil
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

// Integrity writes the checksummed pattern over size bytes of path,
// syncs, drops caches and reads it back (phase "both"), or does only one
// half ("write", "verify") so a test can alter data in between.
func Integrity(path string, size int64, seed uint64, phase string, direct bool) IntegrityResult {
	res := IntegrityResult{Path: path, Size: size, Seed: seed, Phase: phase, Blocks: size / BlockSize, DropCaches: "skipped"}
	if res.Blocks == 0 {
		res.WriteError = fmt.Sprintf("size %d is smaller than one %d-byte block", size, BlockSize)
		return res
	}
	const chunkBlocks = 256 // 1 MiB per I/O
	buf := alignedBuf(chunkBlocks * BlockSize)
	if phase == "write" || phase == "both" {
		flag := os.O_WRONLY
		if !isBlockDev(path) {
			flag |= os.O_CREATE
		}
		f, d, note, err := openDisk(path, flag, direct)
		res.Direct, res.Note = d, note
		if err != nil {
			res.WriteError = "open: " + err.Error()
			return res
		}
		for b := int64(0); b < res.Blocks; b += chunkBlocks {
			n := min(chunkBlocks, res.Blocks-b)
			for i := int64(0); i < n; i++ {
				FillBlock(buf[i*BlockSize:(i+1)*BlockSize], b+i, seed)
			}
			if _, err := f.WriteAt(buf[:n*BlockSize], b*BlockSize); err != nil {
				res.WriteError = fmt.Sprintf("write at %d: %v", b*BlockSize, err)
				f.Close()
				return res
			}
			res.Written += n * BlockSize
		}
		if err := f.Sync(); err != nil {
			res.SyncError = err.Error()
		}
		if err := f.Close(); err != nil && res.SyncError == "" {
			res.SyncError = "close: " + err.Error()
		}
		if res.SyncError != "" {
			return res
		}
	}
	if phase == "write" {
		return res
	}
	if err := DropCaches(); err != nil {
		res.DropCaches = err.Error()
	} else {
		res.DropCaches = "ok"
	}
	f, d, note, err := openDisk(path, os.O_RDONLY, direct)
	if phase == "verify" {
		res.Direct, res.Note = d, note
	}
	if err != nil {
		res.ReadError = "open: " + err.Error()
		return res
	}
	defer f.Close()
	scratch := make([]byte, BlockSize)
	for b := int64(0); b < res.Blocks; b += chunkBlocks {
		n := min(chunkBlocks, res.Blocks-b)
		k, err := f.ReadAt(buf[:n*BlockSize], b*BlockSize)
		if err != nil && !(errors.Is(err, io.EOF) && int64(k) == n*BlockSize) {
			res.ReadError = fmt.Sprintf("read at %d: %v", b*BlockSize, err)
			return res
		}
		for i := int64(0); i < n; i++ {
			res.Verified++
			if !CheckBlock(buf[i*BlockSize:(i+1)*BlockSize], b+i, seed, scratch) {
				res.Mismatches++
				if len(res.BadOffsets) < 16 {
					res.BadOffsets = append(res.BadOffsets, (b+i)*BlockSize)
				}
			}
		}
	}
	return res
}
