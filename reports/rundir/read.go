package rundir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/journal"
)

// File names in a run directory.
const (
	ResultsFile   = "results.json"
	JUnitFile     = "junit.xml"
	HTMLFile      = "report.html"
	JournalFile   = journal.File
	PlanFile      = "plan.yaml"
	ArtifactsDir  = "artifacts"
	ManifestFile  = "manifest"
	SignatureFile = "manifest.sig"
	PublicKeyFile = "manifest.pub"
)

// Limits on what a reader accepts beyond reports' own (reports/limits.go
// bounds results.json and the journal). Every file a reader opens goes
// through openBounded with one of these, so one place bounds them.
const (
	// MaxManifest bounds the manifest (a line per file).
	MaxManifest = 16 << 20
	// MaxSmall bounds a signature or a key.
	MaxSmall = 64 << 10
)

// OpenRegular opens rel inside root for reading, refusing a symlink or
// anything but a regular file.
func OpenRegular(root *os.Root, rel string) (*os.File, error) {
	// O_NONBLOCK: a FIFO planted there is refused, not waited on.
	f, err := root.OpenFile(filepath.FromSlash(rel), os.O_RDONLY|oNoFollow|oNonBlock, 0)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", rel)
	}
	return f, nil
}

// openBounded is OpenRegular for a file of at most max bytes
// (reports.Limit): a larger one is refused before it is read, and the
// reader fails with reports.ErrTooLarge should it grow past max.
func openBounded(root *os.Root, rel string, max int64) (io.ReadCloser, error) {
	f, err := OpenRegular(root, rel)
	if err != nil {
		return nil, err
	}
	return reports.Limit(f, rel, max)
}

// ReadFile reads rel inside root through OpenRegular, bounded by max.
func ReadFile(root *os.Root, rel string, max int64) ([]byte, error) {
	f, err := openBounded(root, rel, max)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	return b, nil
}

func readJournal(root *os.Root) ([]journal.Record, error) {
	f, err := openBounded(root, JournalFile, reports.MaxJournalBytes)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, _, err := journal.Decode(f)
	return recs, err
}

// Load reads a run from a run directory or a results.json file. A
// directory with a journal is replayed from it (the source of truth, also
// for a killed run: INCOMPLETE); its results.json is preferred when it
// describes the same run as completely (it carries the waivers applied at
// the end). A symlinked run directory (out/latest) is followed.
func Load(p string) (*reports.Run, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		f, err := reports.OpenLimited(p, reports.MaxResultsBytes)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return decodeResults(f)
	}
	root, err := os.OpenRoot(p)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return load(root)
}

func load(root *os.Root) (*reports.Run, error) {
	recs, err := readJournal(root)
	if errors.Is(err, fs.ErrNotExist) {
		return readResults(root)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", JournalFile, err)
	}
	run, err := journal.Build(recs)
	if err != nil {
		return nil, err
	}
	if r2, err := readResults(root); err == nil && r2.ID == run.ID && r2.Complete == run.Complete {
		return r2, nil
	}
	return run, nil
}

func readResults(root *os.Root) (*reports.Run, error) {
	f, err := openBounded(root, ResultsFile, reports.MaxResultsBytes)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return decodeResults(f)
}

// ErrSchema is returned for a results.json of another schema.
var ErrSchema = errors.New("unsupported results schema")

// decodeResults is the one results.json decoder: strict (an unknown
// field would be dropped silently on re-rendering), one schema. r is
// bounded by its caller (reports.OpenLimited or openBounded).
func decodeResults(r io.Reader) (*reports.Run, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ResultsFile, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var run reports.Run
	if err := dec.Decode(&run); err != nil {
		return nil, fmt.Errorf("not a %s: %v", ResultsFile, err)
	}
	if run.Schema != reports.SchemaVersion {
		return nil, fmt.Errorf("%s: %w %q (this virtcert reads %q)", ResultsFile, ErrSchema, run.Schema, reports.SchemaVersion)
	}
	return &run, nil
}
