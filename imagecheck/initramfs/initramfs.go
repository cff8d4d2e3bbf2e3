// Package initramfs lists the files of a Linux initramfs: one or more cpio
// (newc) archives, each uncompressed or compressed with gzip, zstd, xz or
// bzip2, concatenated as the kernel accepts them (an uncompressed early
// microcode archive followed by the compressed main one is the usual
// Debian layout). The cpio headers are parsed by
// github.com/cavaliergopher/cpio; only the concatenation and the
// detection of each segment's compression are done here, because no
// library handles an initramfs as the kernel sees it.
package initramfs

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/cavaliergopher/cpio"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Limits bound what one initramfs may cost to read.
type Limits struct {
	Unpacked int64 // bytes after decompression, all segments together
	Entries  int   // files, directories and links
	Keep     int64 // bytes kept of each file selected by Options.Keep
}

// DefaultLimits fit any real initramfs (Debian's are 30–80 MiB unpacked).
var DefaultLimits = Limits{Unpacked: 1 << 30, Entries: 200000, Keep: 4 << 20}

// Archive is what was read: every path (relative, without a leading "./"
// or "/"), the segments in order ("cpio", "gzip", "zstd", ...) and the
// contents of the files Options.Keep selected.
type Archive struct {
	Paths    []string
	Segments []string
	Files    map[string][]byte
}

// Has reports whether the archive holds the path p.
func (a *Archive) Has(p string) bool {
	for _, q := range a.Paths {
		if q == p {
			return true
		}
	}
	return false
}

// ErrFormat is wrapped by every error about the archive's own format: an
// unknown compression, a truncated or malformed cpio header, a limit hit.
var ErrFormat = errors.New("initramfs")

// Read reads an initramfs from r. keep selects files whose contents
// should be returned (nil: none).
func Read(r io.Reader, lim Limits, keep func(string) bool) (*Archive, error) {
	a := &Archive{Files: map[string][]byte{}}
	st := &state{a: a, lim: lim, keep: keep}
	br := bufio.NewReader(r)
	for {
		if err := skipZeros(br); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		magic, _ := br.Peek(6)
		kind, open := detect(magic)
		if kind == "" {
			return nil, fmt.Errorf("%w: unknown compression or format (first bytes %x)", ErrFormat, magic)
		}
		a.Segments = append(a.Segments, kind)
		if open == nil { // uncompressed cpio: go on after its trailer
			if err := st.archive(br); err != nil {
				return nil, err
			}
			continue
		}
		// A compressed segment runs to the end of the file; it may hold
		// several archives of its own.
		zr, err := open(br)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrFormat, kind, err)
		}
		err = st.archives(bufio.NewReader(&capped{r: zr, left: lim.Unpacked - st.unpacked, st: st}))
		if c, ok := zr.(io.Closer); ok {
			c.Close()
		}
		if err != nil {
			return nil, fmt.Errorf("%s segment: %w", kind, err)
		}
		break
	}
	if len(a.Segments) == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrFormat)
	}
	return a, nil
}

type opener func(io.Reader) (io.Reader, error)

// detect names the segment starting with magic and how to open it; nil
// opener: an uncompressed cpio archive; "": unknown.
func detect(m []byte) (string, opener) {
	switch {
	case bytes.HasPrefix(m, []byte("07070")):
		return "cpio", nil
	case bytes.HasPrefix(m, []byte{0x1f, 0x8b}):
		return "gzip", func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }
	case bytes.HasPrefix(m, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "zstd", func(r io.Reader) (io.Reader, error) {
			d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
			if err != nil {
				return nil, err
			}
			return d.IOReadCloser(), nil
		}
	case bytes.HasPrefix(m, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return "xz", func(r io.Reader) (io.Reader, error) { return xz.NewReader(r) }
	case bytes.HasPrefix(m, []byte("BZh")):
		return "bzip2", func(r io.Reader) (io.Reader, error) { return bzip2.NewReader(r), nil }
	}
	return "", nil
}

// skipZeros consumes the NUL padding between archives; io.EOF at the end.
func skipZeros(br *bufio.Reader) error {
	for {
		b, err := br.ReadByte()
		if err != nil {
			if err == io.EOF {
				return io.EOF
			}
			return fmt.Errorf("%w: %v", ErrFormat, err)
		}
		if b != 0 {
			return br.UnreadByte()
		}
	}
}

type state struct {
	a        *Archive
	lim      Limits
	keep     func(string) bool
	unpacked int64
	over     bool
}

// archives reads the cpio archives of one decompressed segment.
func (s *state) archives(br *bufio.Reader) error {
	for {
		if err := skipZeros(br); err == io.EOF {
			return nil
		} else if err != nil {
			return s.limitErr(err)
		}
		if err := s.archive(br); err != nil {
			return err
		}
	}
}

// archive reads one cpio archive up to and including its trailer.
func (s *state) archive(r io.Reader) error {
	er := &eofReader{r: r}
	cr := cpio.NewReader(er)
	for {
		h, err := cr.Next()
		if err == io.EOF && !er.eof { // the trailer, not the end of the input
			return nil
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return s.limitErr(fmt.Errorf("%w: cpio: %v", ErrFormat, err))
		}
		if len(s.a.Paths) >= s.lim.Entries {
			return fmt.Errorf("%w: more than %d entries", ErrFormat, s.lim.Entries)
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if name == "" {
			continue
		}
		s.a.Paths = append(s.a.Paths, name)
		if s.keep != nil && h.Mode.IsRegular() && s.keep(name) {
			b, err := io.ReadAll(io.LimitReader(cr, s.lim.Keep))
			if err != nil {
				return s.limitErr(fmt.Errorf("%w: %s: %v", ErrFormat, name, err))
			}
			s.a.Files[name] = b
		}
	}
}

func (s *state) limitErr(err error) error {
	if s.over {
		return fmt.Errorf("%w: more than %d bytes unpacked", ErrFormat, s.lim.Unpacked)
	}
	return err
}

// capped fails once more than left bytes came out of the decompressor.
type capped struct {
	r    io.Reader
	left int64
	st   *state
}

var errCap = errors.New("unpacked size limit")

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		c.st.over = true
		return 0, errCap
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	c.st.unpacked += int64(n)
	return n, err
}

// eofReader records whether the input ran out: the cpio reader returns
// io.EOF both for its trailer and for a truncated archive.
type eofReader struct {
	r   io.Reader
	eof bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		e.eof = true
	}
	return n, err
}
