package probe

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"
	"unsafe"
)

// The disk measurements, one code for every OS. Each platform file gives
// the parts that differ: openDisk (Linux O_DIRECT; Windows
// FILE_FLAG_NO_BUFFERING|FILE_FLAG_WRITE_THROUGH), isBlockDev, ioBuf,
// ioFunc (the I/O call of the loop), sectorSize (the unit unbuffered I/O
// must use) and DropCaches. What is here (sizes, alignment, the loop,
// statistics, the JSON result) is unit-tested on Linux, so the Windows
// build runs the same logic behind its own open and I/O calls.

// alignedBuf returns a len-n slice whose first byte is aligned to align
// bytes (a power of two), as unbuffered I/O requires of the user buffer
// (Go's allocator gives no such guarantee).
func alignedBuf(n, align int) []byte {
	raw := make([]byte, n+align)
	off := int(uintptr(align)-uintptr(unsafe.Pointer(&raw[0]))%uintptr(align)) % align
	return raw[off : off+n : off+n]
}

// unbufferedAlign is the alignment for unbuffered I/O on a volume whose
// sector size sectorSize reported: the sector, at least a 4 KiB page
// (which also covers a physical sector larger than the logical one). A
// size the volume could not report gives 4 KiB and a note saying so; an
// impossible one (not a power of two from 512 to 64 KiB) is an error.
func unbufferedAlign(sector int, err error) (align int, note string, _ error) {
	if err != nil {
		return 4096, fmt.Sprintf("volume sector size unknown (%v): assumed 4096", err), nil
	}
	if sector < 512 || sector > 64<<10 || sector&(sector-1) != 0 {
		return 0, "", fmt.Errorf("volume sector size %d is not a power of two from 512 to 65536", sector)
	}
	return max(sector, 4096), "", nil
}

// checkDisk validates a disk measurement's options; sector is the unit
// unbuffered I/O must use (0: unknown).
func checkDisk(o DiskOptions, sector int) (write, random bool, err error) {
	if o.BS <= 0 || o.BS%512 != 0 || o.Size < int64(o.BS) {
		return false, false, fmt.Errorf("disk: bs must be a positive multiple of 512 and size >= bs (bs=%d size=%d)", o.BS, o.Size)
	}
	if o.Direct && sector > 0 && o.BS%sector != 0 {
		return false, false, fmt.Errorf("disk: bs %d is not a multiple of the volume's %d-byte sector (unbuffered I/O moves whole sectors)", o.BS, sector)
	}
	switch o.Mode {
	case "seqwrite", "randwrite":
		write = true
	case "seqread", "randread":
	default:
		return false, false, fmt.Errorf("disk: unknown mode %q", o.Mode)
	}
	return write, o.Mode == "randread" || o.Mode == "randwrite", nil
}

// rates fills MBps (1 MB = 1e6 bytes) and IOPS from Bytes, Ops and
// Seconds.
func (r *DiskResult) rates() {
	if r.Seconds > 0 {
		r.MBps = float64(r.Bytes) / r.Seconds / 1e6
		r.IOPS = float64(r.Ops) / r.Seconds
	}
}

// addNote appends a note to the result's.
func addNote(note *string, s string) {
	switch {
	case s == "":
	case *note == "":
		*note = s
	default:
		*note += "; " + s
	}
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
	buf := alignedBuf(1<<20, 64<<10)
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
	if _, _, err := checkDisk(o, 0); err != nil {
		return res, err
	}
	if err := prepare(o.Path, o.Size, o.Direct); err != nil {
		return res, fmt.Errorf("disk: prepare %s: %w", o.Path, err)
	}
	sector, serr := sectorSize(o.Path)
	align, note, err := unbufferedAlign(sector, serr)
	if err != nil {
		return res, fmt.Errorf("disk: %w", err)
	}
	if serr != nil {
		sector = 0
	}
	write, random, err := checkDisk(o, sector)
	if err != nil {
		return res, err
	}
	res.Note = note
	flag := os.O_RDONLY
	if write {
		flag = os.O_WRONLY
	}
	f, direct, onote, err := openDisk(o.Path, flag, o.Direct)
	if err != nil {
		return res, fmt.Errorf("disk: open %s: %w", o.Path, err)
	}
	defer f.Close()
	res.Direct = direct
	addNote(&res.Note, onote)
	buf, release, err := ioBuf(o.BS, align)
	if err != nil {
		return res, fmt.Errorf("disk: buffer: %w", err)
	}
	defer release()
	markBenchBuf(buf, o.BS)
	l := &diskLoop{io: ioFunc(f, write, o.GoSyscall), random: random, buf: buf, bs: o.BS, blocks: o.Size / int64(o.BS),
		rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))}
	l.measure(&res, o)
	if write && res.Error == "" {
		syncTimed(f, &res)
	}
	res.rates()
	if res.Error != "" {
		return res, fmt.Errorf("disk %s: %s", o.Mode, res.Error)
	}
	return res, nil
}

// measure runs the uncounted ramp, then the measured window, into res.
func (l *diskLoop) measure(res *DiskResult, o DiskOptions) {
	if o.Ramp > 0 {
		rs := time.Now()
		if _, _, err := l.run(rs.Add(o.Ramp)); err != nil {
			res.Error = "ramp: " + err.Error()
		}
		res.RampSeconds = time.Since(rs).Seconds()
	}
	start := time.Now()
	if res.Error == "" {
		var err error
		res.Bytes, res.Ops, err = l.run(start.Add(o.Duration))
		if err != nil {
			res.Error = err.Error()
		}
	}
	res.Seconds = time.Since(start).Seconds()
}

// syncTimed flushes a write run's file and times it. With unbuffered I/O
// a completed write is in the virtual disk, which is what fio (no
// end_fsync) counts, so the closing flush (a cache flush the hypervisor
// may turn into a host fdatasync of every dirty cluster: seconds under
// load) is timed apart and reported, not folded into the figure.
// Buffered I/O (the fallback) has not reached the disk before the flush,
// so there it counts.
func syncTimed(f *os.File, res *DiskResult) {
	fs := time.Now()
	if err := f.Sync(); err != nil {
		res.Error = "fsync: " + err.Error()
	}
	res.FsyncSeconds = time.Since(fs).Seconds()
	if !res.Direct {
		res.Seconds += res.FsyncSeconds
	}
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
// I/O at a time (queue depth 1), the same as fio --ioengine=psync
// --iodepth=1 (Windows: --ioengine=sync with --direct=1), which the
// suites run beside it.
type diskLoop struct {
	io          func(buf []byte, off int64) (int, error)
	random      bool
	buf         []byte
	bs          int
	blocks, blk int64
	rng         *rand.Rand
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
		n, err := l.io(l.buf, b*int64(l.bs))
		if err != nil {
			return bytes, ops, err
		}
		bytes += int64(n)
		ops++
		l.blk++
	}
	return bytes, ops, nil
}

// fileIO is the loop's I/O through os.File (pread/pwrite on Linux,
// ReadFile/WriteFile at an offset on Windows); a short transfer is an
// error, as in fio's psync engine.
func fileIO(f *os.File, write bool) func(buf []byte, off int64) (int, error) {
	return func(buf []byte, off int64) (int, error) {
		var n int
		var err error
		if write {
			n, err = f.WriteAt(buf, off)
		} else {
			n, err = f.ReadAt(buf, off)
			if errors.Is(err, io.EOF) {
				err = nil // a short read at the end: the check below
			}
		}
		if err == nil && n != len(buf) {
			err = fmt.Errorf("short transfer: %d of %d bytes at offset %d", n, len(buf), off)
		}
		return n, err
	}
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
	sector, serr := sectorSize(path)
	align, note, err := unbufferedAlign(sector, serr)
	if err == nil && direct && serr == nil && BlockSize%sector != 0 {
		err = fmt.Errorf("the volume's %d-byte sector does not divide the %d-byte block (unbuffered I/O moves whole sectors)", sector, BlockSize)
	}
	if err != nil {
		res.WriteError = err.Error()
		return res
	}
	if direct {
		res.Note = note
	}
	const chunkBlocks = 256 // 1 MiB per I/O
	buf := alignedBuf(chunkBlocks*BlockSize, align)
	if phase == "write" || phase == "both" {
		if !integrityWrite(&res, buf, direct) {
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
	integrityVerify(&res, buf, direct)
	return res
}

// integrityWrite writes res.Blocks pattern blocks of res.Seed to
// res.Path in chunks of buf, then syncs; false when it failed (the
// result says why).
func integrityWrite(res *IntegrityResult, buf []byte, direct bool) bool {
	chunkBlocks := int64(len(buf) / BlockSize)
	flag := os.O_WRONLY
	if !isBlockDev(res.Path) {
		flag |= os.O_CREATE
	}
	f, d, note, err := openDisk(res.Path, flag, direct)
	res.Direct = d
	addNote(&res.Note, note)
	if err != nil {
		res.WriteError = "open: " + err.Error()
		return false
	}
	for b := int64(0); b < res.Blocks; b += chunkBlocks {
		n := min(chunkBlocks, res.Blocks-b)
		for i := int64(0); i < n; i++ {
			FillBlock(buf[i*BlockSize:(i+1)*BlockSize], b+i, res.Seed)
		}
		if _, err := f.WriteAt(buf[:n*BlockSize], b*BlockSize); err != nil {
			res.WriteError = fmt.Sprintf("write at %d: %v", b*BlockSize, err)
			f.Close()
			return false
		}
		res.Written += n * BlockSize
	}
	if err := f.Sync(); err != nil {
		res.SyncError = err.Error()
	}
	if err := f.Close(); err != nil && res.SyncError == "" {
		res.SyncError = "close: " + err.Error()
	}
	return res.SyncError == ""
}

// integrityVerify reads res.Path back in chunks of buf and counts the
// blocks that are not exactly the pattern of res.Seed.
func integrityVerify(res *IntegrityResult, buf []byte, direct bool) {
	chunkBlocks := int64(len(buf) / BlockSize)
	f, d, note, err := openDisk(res.Path, os.O_RDONLY, direct)
	if res.Phase == "verify" {
		res.Direct = d
		addNote(&res.Note, note)
	}
	if err != nil {
		res.ReadError = "open: " + err.Error()
		return
	}
	defer f.Close()
	scratch := make([]byte, BlockSize)
	for b := int64(0); b < res.Blocks; b += chunkBlocks {
		n := min(chunkBlocks, res.Blocks-b)
		k, err := f.ReadAt(buf[:n*BlockSize], b*BlockSize)
		if err != nil && !(errors.Is(err, io.EOF) && int64(k) == n*BlockSize) {
			res.ReadError = fmt.Sprintf("read at %d: %v", b*BlockSize, err)
			return
		}
		for i := int64(0); i < n; i++ {
			res.Verified++
			if !CheckBlock(buf[i*BlockSize:(i+1)*BlockSize], b+i, res.Seed, scratch) {
				res.Mismatches++
				if len(res.BadOffsets) < 16 {
					res.BadOffsets = append(res.BadOffsets, (b+i)*BlockSize)
				}
			}
		}
	}
}
