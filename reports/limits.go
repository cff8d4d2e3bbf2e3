package reports

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// Bounds on what `report` and `--resume` read back from a run directory.
// A real run's files stay far below them; anything larger is corrupt or
// hostile and is refused before it is held in memory.
const (
	// MaxResultsBytes bounds results.json.
	MaxResultsBytes = 256 << 20
	// MaxJournalBytes bounds journal.jsonl (journal.MaxRecord bounds
	// each of its lines).
	MaxJournalBytes = 256 << 20
)

// ErrTooLarge is returned when an input passes its bound.
var ErrTooLarge = errors.New("input too large")

// OpenLimited opens a run-directory file for reading: it must be a
// regular file (a FIFO or a device is refused without waiting on it) of
// at most max bytes. The reader returns ErrTooLarge (wrapped) past max,
// should the file grow while it is read.
func OpenLimited(path string, max int64) (io.ReadCloser, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	return Limit(f, path, max)
}

// Limit bounds an open file (named name in errors): it must be a regular
// file of at most max bytes, and the reader returned fails with
// ErrTooLarge (wrapped) past max. Limit closes f when it refuses it; the
// caller closes the reader otherwise. OpenLimited and the run-directory
// reader (rundir, which opens inside an os.Root) share it.
func Limit(f *os.File, name string, max int64) (io.ReadCloser, error) {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	if st.Size() > max {
		f.Close()
		return nil, fmt.Errorf("%s: %w: %d bytes, at most %d", name, ErrTooLarge, st.Size(), max)
	}
	return &limited{f: f, r: LimitReader(f, max)}, nil
}

type limited struct {
	f *os.File
	r io.Reader
}

func (l *limited) Read(p []byte) (int, error) { return l.r.Read(p) }
func (l *limited) Close() error               { return l.f.Close() }

// LimitReader is io.LimitReader that fails with ErrTooLarge instead of
// ending quietly when r holds more than max bytes, so a cut input is
// never taken for a whole one.
func LimitReader(r io.Reader, max int64) io.Reader { return &limitReader{r: r, n: max} }

type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n + int(l.n), fmt.Errorf("%w: more than the bound", ErrTooLarge)
	}
	return n, err
}

// MaxInputFileBytes bounds the small YAML inputs a user names (waivers,
// profile overrides).
const MaxInputFileBytes = 1 << 20

// ReadFileLimited reads a whole regular file of at most max bytes.
func ReadFileLimited(path string, max int64) ([]byte, error) {
	f, err := OpenLimited(path, max)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
