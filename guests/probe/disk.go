package probe

import (
	"encoding/binary"
	"hash/crc32"
	"time"
)

// DiskOptions selects a disk measurement.
type DiskOptions struct {
	Path string // a file (created if missing) or a block device
	Size int64  // bytes of Path to use
	// Mode is seqwrite, seqread, randread or randwrite.
	Mode     string
	BS       int  // block size in bytes (a multiple of 512 with Direct)
	Direct   bool // O_DIRECT with aligned buffers
	Duration time.Duration
	// Ramp is I/O run before the measured window and not counted, like
	// fio's ramp_time: the first I/Os of a run pay cold caches (guest
	// extent tree, qcow2 L2 tables in QEMU) that a steady state does not.
	Ramp time.Duration
	// GoSyscall issues the I/O through os.File (the runtime's syscall
	// bookkeeping) instead of raw pread/pwrite; kept to compare the two.
	GoSyscall bool
}

// DiskResult is a disk measurement.
type DiskResult struct {
	Path    string  `json:"path"`
	Mode    string  `json:"mode"`
	BS      int     `json:"bs"`
	Direct  bool    `json:"direct"`
	Bytes   int64   `json:"bytes"`
	Ops     int64   `json:"ops"`
	Seconds float64 `json:"seconds"`
	MBps    float64 `json:"mb_per_s"` // 1 MB = 1e6 bytes
	IOPS    float64 `json:"iops"`
	// RampSeconds is the uncounted warm-up that preceded the window.
	RampSeconds float64 `json:"ramp_seconds,omitempty"`
	// FsyncSeconds is how long the closing fsync of a write run took.
	// With O_DIRECT it is outside Seconds (see DiskBench).
	FsyncSeconds float64 `json:"fsync_seconds,omitempty"`
	Note         string  `json:"note,omitempty"`
	Error        string  `json:"error,omitempty"`
}

// IntegrityResult is the outcome of an integrity pass.
type IntegrityResult struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	Blocks int64  `json:"blocks"`
	Seed   uint64 `json:"seed"`
	Direct bool   `json:"direct"`
	Phase  string `json:"phase"` // write, verify, both
	// Written is the bytes written before any write error.
	Written    int64  `json:"written"`
	WriteError string `json:"write_error,omitempty"`
	SyncError  string `json:"sync_error,omitempty"`
	// DropCaches is "ok", "skipped" or the error text (a failure is
	// recorded, not fatal: with O_DIRECT reads bypass the cache anyway).
	DropCaches string `json:"drop_caches"`
	ReadError  string `json:"read_error,omitempty"`
	Verified   int64  `json:"verified_blocks"`
	Mismatches int64  `json:"mismatches"`
	// BadOffsets lists the byte offsets of the first bad blocks.
	BadOffsets []int64 `json:"bad_offsets,omitempty"`
	Note       string  `json:"note,omitempty"`
}

// OK reports whether the pass found the data intact.
func (r IntegrityResult) OK() bool {
	return r.WriteError == "" && r.SyncError == "" && r.ReadError == "" && r.Mismatches == 0 && r.Verified == r.Blocks
}

// BlockSize is the unit of the integrity pattern.
const BlockSize = 4096

// FillBlock writes the pattern of block idx into b (len BlockSize):
// magic, index, seed, pseudo-random payload, then a CRC32 of the rest. A
// block read back from the wrong place (index), from an earlier run
// (seed), or altered (CRC and payload) is told apart in CheckBlock.
func FillBlock(b []byte, idx int64, seed uint64) {
	copy(b[0:8], "VCPROBE1")
	binary.LittleEndian.PutUint64(b[8:16], uint64(idx))
	binary.LittleEndian.PutUint64(b[16:24], seed)
	x := seed ^ (uint64(idx)+1)*0x9E3779B97F4A7C15
	if x == 0 {
		x = 1
	}
	for i := 24; i+8 <= BlockSize-8; i += 8 {
		// xorshift64: cheap, deterministic, not compressible by a
		// deduplicating or compressing backend.
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(b[i:i+8], x)
	}
	binary.LittleEndian.PutUint32(b[BlockSize-8:BlockSize-4], 0)
	binary.LittleEndian.PutUint32(b[BlockSize-4:], crc32.ChecksumIEEE(b[:BlockSize-4]))
}

// CheckBlock reports whether b holds exactly the pattern of block idx.
func CheckBlock(b []byte, idx int64, seed uint64, scratch []byte) bool {
	if binary.LittleEndian.Uint32(b[BlockSize-4:]) != crc32.ChecksumIEEE(b[:BlockSize-4]) {
		return false
	}
	FillBlock(scratch, idx, seed)
	for i := range BlockSize {
		if b[i] != scratch[i] {
			return false
		}
	}
	return true
}
