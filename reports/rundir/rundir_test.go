package rundir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports/journal"
)

// plant makes a run directory whose name is a symlink to a file outside it.
func plant(t *testing.T, name string) (dir, outside string) {
	t.Helper()
	dir = t.TempDir()
	outside = filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(outside, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	return dir, outside
}

func intact(t *testing.T, outside string) {
	t.Helper()
	if b, _ := os.ReadFile(outside); string(b) != "precious\n" {
		t.Errorf("the file outside the run directory was written: %q", b)
	}
}

// On 301818a --out with a plan.yaml symlink overwrote the file outside,
// and unrelated files in --out were sealed: a new run directory must be
// new or empty.
func TestCreateRefusesNonEmpty(t *testing.T) {
	dir, outside := plant(t, PlanFile)
	if _, err := Create(dir); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("Create on a directory with a planted file: %v", err)
	}
	intact(t, outside)
	d, err := Create(filepath.Join(t.TempDir(), "a", "new"))
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err = Create(t.TempDir()) // empty
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
}

// A symlink planted in a run directory being re-rendered or resumed is
// replaced, never followed.
func TestWriteReplacesSymlink(t *testing.T) {
	dir, outside := plant(t, ResultsFile)
	d, err := open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.WriteFile(ResultsFile, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	intact(t, outside)
	if st, _ := os.Lstat(filepath.Join(dir, ResultsFile)); !st.Mode().IsRegular() {
		t.Errorf("results.json is %v, want a regular file", st.Mode())
	}
	// A symlinked directory leading out is refused, too.
	os.Symlink(filepath.Dir(outside), filepath.Join(dir, "artifacts"))
	if err := d.WriteFile("artifacts/x/console.log", []byte("x"), 0o644); err == nil {
		t.Error("wrote through a symlinked directory")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(outside), "x")); err == nil {
		t.Error("a directory was made outside the run directory")
	}
	if err := d.WriteFile("../escape", nil, 0o644); err == nil {
		t.Error("wrote ../escape")
	}
}

// On 301818a a symlinked journal.jsonl got the run's records appended
// outside the run directory.
func TestJournalRefusesSymlink(t *testing.T) {
	dir, outside := plant(t, JournalFile)
	d, err := open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if w, err := d.Journal(); err == nil {
		w.Append(journal.Record{Type: journal.RunStarted, RunID: "x"})
		w.Close()
		t.Error("journal opened through a symlink")
	}
	intact(t, outside)
	if w, err := journal.Create(dir); err == nil {
		w.Close()
		t.Error("journal.Create followed a symlink")
	}
	intact(t, outside)
}

func TestOwned(t *testing.T) {
	for rel, want := range map[string]bool{
		ResultsFile: true, JournalFile: true, PlanFile: true, "artifacts/t/console.log": true,
		"notes.txt": false, "ssh/id_ed25519": false, ManifestFile: false, "artifacts/t/.tmp-x-1": false,
	} {
		if Owned(rel) != want {
			t.Errorf("Owned(%q) = %v", rel, !want)
		}
	}
}

func writeJournal(t *testing.T, dir string, recs ...journal.Record) {
	t.Helper()
	w, err := journal.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		w.Append(r)
	}
	w.Close()
}

func TestLoadOneReader(t *testing.T) {
	dir := t.TempDir()
	writeJournal(t, dir, journal.Record{Type: journal.RunStarted, RunID: "vc-1"})
	run, err := Load(dir)
	if err != nil || run.ID != "vc-1" || run.Complete {
		t.Fatalf("killed run: %+v %v", run, err)
	}
	// A symlinked run directory reads the same.
	link := filepath.Join(t.TempDir(), "latest")
	os.Symlink(dir, link)
	if run, err := Load(link); err != nil || run.ID != "vc-1" {
		t.Errorf("symlinked: %+v %v", run, err)
	}
	// A symlinked results.json inside is not read.
	dir2, _ := plant(t, ResultsFile)
	if _, err := Load(dir2); err == nil {
		t.Error("read results.json through a symlink")
	}
	os.WriteFile(filepath.Join(dir2, "r.json"), []byte(`{"schema":"virtcert.results/v9","id":"x"}`), 0o644)
	if _, err := Load(filepath.Join(dir2, "r.json")); !errors.Is(err, ErrSchema) {
		t.Errorf("other schema: %v", err)
	}
	os.WriteFile(filepath.Join(dir2, "r.json"), []byte(`{"schema":"virtcert.results/v1","id":"x","bogus":1}`), 0o644)
	if _, err := Load(filepath.Join(dir2, "r.json")); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown field accepted: %v", err)
	}
}

func TestResume(t *testing.T) {
	dir := t.TempDir()
	if _, err := Resume(dir); err == nil {
		t.Error("resumed a directory without a journal")
	}
	writeJournal(t, dir, journal.Record{Type: journal.RunStarted, RunID: "vc-1"})
	r, err := Resume(dir)
	if err != nil || r.Label != "vc-1" || len(r.Records) != 1 {
		t.Fatalf("%+v %v", r, err)
	}
	r.Dir.Close()
	writeJournal(t, dir, journal.Record{Type: journal.RunFinished})
	if _, err := Resume(dir); !errors.Is(err, ErrFinished) {
		t.Errorf("finished run: %v", err)
	}
}
