package probe

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// The platform-neutral disk logic (diskrun.go) that the Windows build of
// vcprobe runs behind FILE_FLAG_NO_BUFFERING, proven here on Linux.

func TestAlignedBuf(t *testing.T) {
	for _, align := range []int{512, 4096, 65536} {
		for _, n := range []int{512, 4096, 1 << 20} {
			b := alignedBuf(n, align)
			if len(b) != n || cap(b) != n || uintptr(unsafe.Pointer(&b[0]))%uintptr(align) != 0 {
				t.Errorf("alignedBuf(%d, %d): len %d cap %d at %p", n, align, len(b), cap(b), &b[0])
			}
		}
	}
}

func TestUnbufferedAlign(t *testing.T) {
	for _, c := range []struct {
		sector  int
		err     error
		align   int
		note    string
		refused bool
	}{
		{512, nil, 4096, "", false},
		{4096, nil, 4096, "", false},
		{8192, nil, 8192, "", false},
		{0, errors.New("device"), 4096, "volume sector size unknown (device): assumed 4096", false},
		{1000, nil, 0, "", true},
		{256, nil, 0, "", true},
		{1 << 20, nil, 0, "", true},
	} {
		align, note, err := unbufferedAlign(c.sector, c.err)
		if (err != nil) != c.refused || align != c.align || note != c.note {
			t.Errorf("unbufferedAlign(%d, %v) = %d %q %v", c.sector, c.err, align, note, err)
		}
	}
}

func TestCheckDisk(t *testing.T) {
	for _, c := range []struct {
		o             DiskOptions
		sector        int
		write, random bool
		err           string
	}{
		{DiskOptions{Mode: "seqwrite", BS: 1 << 20, Size: 8 << 20, Direct: true}, 4096, true, false, ""},
		{DiskOptions{Mode: "randread", BS: 4096, Size: 8 << 20, Direct: true}, 4096, false, true, ""},
		{DiskOptions{Mode: "randwrite", BS: 512, Size: 8 << 20, Direct: true}, 512, true, true, ""},
		// 512-byte I/O on a 4Kn volume: unbuffered I/O refuses it.
		{DiskOptions{Mode: "randread", BS: 512, Size: 8 << 20, Direct: true}, 4096, false, false, "not a multiple of the volume's 4096-byte sector"},
		// Buffered I/O has no sector rule.
		{DiskOptions{Mode: "randread", BS: 512, Size: 8 << 20}, 4096, false, true, ""},
		{DiskOptions{Mode: "seqread", BS: 1000, Size: 8 << 20}, 0, false, false, "positive multiple of 512"},
		{DiskOptions{Mode: "seqread", BS: 4096, Size: 1024}, 0, false, false, "size >= bs"},
		{DiskOptions{Mode: "bogus", BS: 4096, Size: 8 << 20}, 0, false, false, "unknown mode"},
	} {
		w, r, err := checkDisk(c.o, c.sector)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%+v sector %d: %v, want %q", c.o, c.sector, err, c.err)
			}
			continue
		}
		if err != nil || w != c.write || r != c.random {
			t.Errorf("%+v sector %d: write %v random %v %v", c.o, c.sector, w, r, err)
		}
	}
}

// TestDiskResultFormat: the JSON both builds print (the controller parses
// these names), with MB/s in 1e6 bytes.
func TestDiskResultFormat(t *testing.T) {
	r := DiskResult{Path: `C:\vc\bench`, Mode: "randread", BS: 4096, Direct: true, Bytes: 8 << 20, Ops: 2048, Seconds: 2}
	r.rates()
	if r.MBps != float64(8<<20)/2/1e6 || r.IOPS != 1024 {
		t.Fatalf("rates: %+v", r)
	}
	b, _ := json.Marshal(r)
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"path", "mode", "bs", "direct", "bytes", "ops", "seconds", "mb_per_s", "iops"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
	var none DiskResult
	none.rates()
	if none.MBps != 0 || none.IOPS != 0 {
		t.Errorf("rates of an empty window: %+v", none)
	}
}

// TestFileIOShortTransfer: the loop's os.File I/O (the Windows build's)
// counts a short read as an error, not as a full block.
func TestFileIOShortTransfer(t *testing.T) {
	p := filepath.Join(t.TempDir(), "short")
	os.WriteFile(p, make([]byte, 6000), 0o600)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	read := fileIO(f, false)
	buf := alignedBuf(4096, 4096)
	if n, err := read(buf, 0); n != 4096 || err != nil {
		t.Errorf("full block: %d %v", n, err)
	}
	if n, err := read(buf, 4096); err == nil || !strings.Contains(err.Error(), "short transfer: 1904 of 4096") {
		t.Errorf("short block: %d %v", n, err)
	}
}

// TestDiskLoop: the loop covers the blocks in order (sequential) and
// stays within them (random), one I/O of bs bytes each, and stops at the
// first I/O error with what it had done.
func TestDiskLoop(t *testing.T) {
	for _, random := range []bool{false, true} {
		var offs []int64
		stop := errors.New("device gone")
		l := &diskLoop{io: func(buf []byte, off int64) (int, error) {
			if len(offs) == 40 {
				return 0, stop
			}
			offs = append(offs, off)
			return len(buf), nil
		}, buf: make([]byte, 4096), bs: 4096, blocks: 4, random: random, rng: rand.New(rand.NewPCG(1, 7))}
		bytes, ops, err := l.run(time.Now().Add(time.Hour))
		if !errors.Is(err, stop) || ops != 40 || bytes != 40*4096 {
			t.Fatalf("random %v: %d ops %d bytes %v", random, ops, bytes, err)
		}
		for i, off := range offs {
			if (!random && off != int64(i%4)*4096) || off%4096 != 0 || off < 0 || off >= 4*4096 {
				t.Fatalf("random %v: I/O %d at %d", random, i, off)
			}
		}
	}
}
