// Package rundir is the one writer and the one reader of a run directory
// (reports/bundle describes its layout). Every command that writes into a
// run directory (run, run --resume, report, report merge) goes through a
// Dir; every command that reads one (report, report diff, report merge,
// report verify, run --resume) goes through Load, Journal and Open, so they
// all accept the same inputs.
//
// A Dir is an os.Root: nothing it writes can land outside the directory,
// whatever symlinks are planted in it. Files are created with
// O_CREATE|O_EXCL|O_NOFOLLOW (a temporary name, then a rename that replaces
// a symlink rather than following it), and the journal is opened with
// O_NOFOLLOW. A new run directory must not exist or be empty, so no file
// the run did not write is ever sealed into its manifest.
package rundir

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/virtcert/virtcert/reports/journal"
)

// ErrNotEmpty is returned by Create for a directory that holds files.
var ErrNotEmpty = errors.New("exists and is not empty (a run directory must be new or empty; resume a run with --resume DIR)")

// ErrNotRun is returned by Reopen for a directory that holds no run.
var ErrNotRun = errors.New("not a run directory (no journal.jsonl or results.json)")

// Dir is a run directory opened for writing.
type Dir struct {
	path string
	root *os.Root
}

// Create makes path a new run directory: it is created (with its
// parents), or must be an empty directory.
func Create(path string) (*Dir, error) {
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(path)), 0o755); err != nil {
		return nil, fmt.Errorf("run directory %s: %w", path, err)
	}
	if err := os.Mkdir(path, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("run directory %s: %w", path, err)
	}
	d, err := open(path)
	if err != nil {
		return nil, err
	}
	f, err := d.root.Open(".")
	if err == nil {
		_, err = f.ReadDir(1)
		f.Close()
	}
	switch {
	case err == nil:
		d.Close()
		return nil, fmt.Errorf("run directory %s: %w", path, ErrNotEmpty)
	case !errors.Is(err, io.EOF):
		d.Close()
		return nil, fmt.Errorf("run directory %s: %w", path, err)
	}
	return d, nil
}

// Reopen opens an existing run directory (a run being resumed, or re-rendered):
// it must hold a journal or a results.json.
func Reopen(path string) (*Dir, error) {
	d, err := open(path)
	if err != nil {
		return nil, err
	}
	if !d.regular(JournalFile) && !d.regular(ResultsFile) {
		d.Close()
		return nil, fmt.Errorf("%s: %w", path, ErrNotRun)
	}
	return d, nil
}

func open(path string) (*Dir, error) {
	r, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("run directory %s: %w", path, err)
	}
	return &Dir{path: path, root: r}, nil
}

// Path is the directory as given.
func (d *Dir) Path() string { return d.path }

// Root is the directory handle (for readers such as the bundle's hashing).
func (d *Dir) Root() *os.Root { return d.root }

// Close releases the directory handle.
func (d *Dir) Close() error { return d.root.Close() }

// regular is true when rel is a regular file (not a symlink).
func (d *Dir) regular(rel string) bool {
	st, err := d.root.Lstat(rel)
	return err == nil && st.Mode().IsRegular()
}

// Exists is true when rel is a regular file in the directory.
func (d *Dir) Exists(rel string) bool { return d.regular(filepath.FromSlash(rel)) }

// MkdirAll creates rel (slash-separated) and its parents inside the directory.
func (d *Dir) MkdirAll(rel string, perm os.FileMode) error {
	if err := d.root.MkdirAll(filepath.FromSlash(rel), perm); err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	return nil
}

// WriteFile writes data to rel; see Write.
func (d *Dir) WriteFile(rel string, data []byte, perm os.FileMode) error {
	return d.Write(rel, perm, func(w io.Writer) error { _, err := w.Write(data); return err })
}

// Write writes rel (slash-separated, inside the directory) through a
// temporary file created with O_EXCL|O_NOFOLLOW and a rename, so a reader
// never sees half a file and a symlink at rel is replaced, never
// followed. Parent directories are created.
func (d *Dir) Write(rel string, perm os.FileMode, fill func(io.Writer) error) error {
	name := filepath.FromSlash(path.Clean(rel))
	if !fs.ValidPath(path.Clean(rel)) || name == "." {
		return fmt.Errorf("run directory: invalid file name %q", rel)
	}
	if dir := filepath.Dir(name); dir != "." {
		if err := d.root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("run directory: %w", err)
		}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(name), ".tmp-"+filepath.Base(name)+"-"+hex.EncodeToString(rnd[:]))
	f, err := d.CreateExcl(filepath.ToSlash(tmp), perm)
	if err != nil {
		return err
	}
	defer d.root.Remove(tmp)
	err = fill(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = d.root.Rename(tmp, name)
	}
	if err != nil {
		return fmt.Errorf("run directory: %s: %w", rel, err)
	}
	return nil
}

// CreateExcl creates rel, which must not exist (O_CREATE|O_EXCL|O_NOFOLLOW).
func (d *Dir) CreateExcl(rel string, perm os.FileMode) (*os.File, error) {
	f, err := d.root.OpenFile(filepath.FromSlash(rel), os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, perm)
	if err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	return f, nil
}

// OpenAppend opens rel for reading and appending, creating it if needed;
// a symlink at rel is refused (O_NOFOLLOW), and so is anything but a
// regular file.
func (d *Dir) OpenAppend(rel string) (*os.File, error) {
	f, err := d.root.OpenFile(filepath.FromSlash(rel), os.O_RDWR|os.O_CREATE|oNoFollow, 0o644)
	if err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("run directory: %s is not a regular file", rel)
	}
	return f, nil
}

// Remove removes rel (a symlink itself, never its target); a missing file
// is not an error.
func (d *Dir) Remove(rel string) error {
	if err := d.root.Remove(filepath.FromSlash(rel)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("run directory: %w", err)
	}
	return nil
}

// Owned is true for the paths a run writes and its manifest covers:
// results.json, junit.xml, report.html, journal.jsonl, plan.yaml and
// everything under artifacts/. Anything else found in a run directory
// (a file a user dropped there, the run's ssh/ key directory, temporary
// files) is never sealed; report verify lists it as EXTRA.
func Owned(rel string) bool {
	switch rel {
	case ResultsFile, JUnitFile, HTMLFile, JournalFile, PlanFile:
		return true
	}
	return strings.HasPrefix(rel, ArtifactsDir+"/") && !strings.Contains(rel, "/.tmp-")
}

// Journal opens the run's journal for appending (see OpenAppend).
func (d *Dir) Journal() (*journal.Writer, error) {
	f, err := d.OpenAppend(JournalFile)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return journal.NewWriter(f)
}
