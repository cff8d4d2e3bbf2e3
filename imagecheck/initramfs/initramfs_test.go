package initramfs

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/cavaliergopher/cpio"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// archive writes a cpio newc archive of the given files (name -> body).
func archive(t *testing.T, files ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := cpio.NewWriter(&b)
	for i := 0; i < len(files); i += 2 {
		body := files[i+1]
		if err := w.WriteHeader(&cpio.Header{Name: files[i], Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func compress(t *testing.T, kind string, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	var w io.WriteCloser
	var err error
	switch kind {
	case "gzip":
		w = gzip.NewWriter(&b)
	case "zstd":
		w, err = zstd.NewWriter(&b)
	case "xz":
		w, err = xz.NewWriter(&b)
	}
	if err != nil {
		t.Fatal(err)
	}
	w.Write(p)
	w.Close()
	return b.Bytes()
}

func TestRead(t *testing.T) {
	early := archive(t, "kernel/x86/microcode/GenuineIntel.bin", "ucode")
	main := archive(t, ".", "", "./usr/lib/modules/6.1.0-28-amd64/kernel/drivers/block/virtio_blk.ko", "elf",
		"usr/lib/modules/6.1.0-28-amd64/modules.builtin", "kernel/drivers/virtio/virtio.ko\n")
	pad := make([]byte, 512)
	for _, kind := range []string{"gzip", "zstd", "xz"} {
		t.Run(kind, func(t *testing.T) {
			img := append(append(append([]byte{}, early...), pad...), compress(t, kind, append(main, main...))...)
			a, err := Read(bytes.NewReader(img), DefaultLimits, func(p string) bool { return strings.HasSuffix(p, "modules.builtin") })
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(a.Segments, ","); got != "cpio,"+kind {
				t.Errorf("segments %q", got)
			}
			if !a.Has("usr/lib/modules/6.1.0-28-amd64/kernel/drivers/block/virtio_blk.ko") || !a.Has("kernel/x86/microcode/GenuineIntel.bin") {
				t.Errorf("paths %q", a.Paths)
			}
			if got := string(a.Files["usr/lib/modules/6.1.0-28-amd64/modules.builtin"]); got != "kernel/drivers/virtio/virtio.ko\n" {
				t.Errorf("kept %q", got)
			}
			if len(a.Paths) != 5 { // early 1 + main 2 twice
				t.Errorf("%d paths: %q", len(a.Paths), a.Paths)
			}
		})
	}
}

func TestReadRefuses(t *testing.T) {
	main := archive(t, "init", strings.Repeat("x", 4096))
	cases := map[string]struct {
		img []byte
		lim Limits
		msg string
	}{
		"lz4 (unknown)":  {[]byte{0x02, 0x21, 0x4c, 0x18, 0, 0, 0}, DefaultLimits, "unknown compression"},
		"empty":          {nil, DefaultLimits, "empty file"},
		"zeros":          {make([]byte, 64), DefaultLimits, "empty file"},
		"truncated cpio": {main[:200], DefaultLimits, "cpio"},
		"truncated gzip": {compress(t, "gzip", main)[:40], DefaultLimits, "gzip"},
		"bad gzip":       {[]byte{0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, DefaultLimits, "gzip"},
		"unpacked cap":   {compress(t, "zstd", main), Limits{Unpacked: 1000, Entries: 10, Keep: 10}, "more than 1000 bytes unpacked"},
		"entries cap":    {archive(t, "a", "", "b", "", "c", ""), Limits{Unpacked: 1 << 20, Entries: 2, Keep: 10}, "more than 2 entries"},
		"garbage":        {[]byte("#!/bin/sh\necho hi\n"), DefaultLimits, "unknown compression"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(c.img), c.lim, nil)
			if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v, want ErrFormat with %q", err, c.msg)
			}
		})
	}
}
