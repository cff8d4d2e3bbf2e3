//go:build unix

package reports_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/bundle"
	"github.com/virtcert/virtcert/reports/journal"
	"github.com/virtcert/virtcert/reports/rundir"
)

func TestLimitReader(t *testing.T) {
	b, err := io.ReadAll(reports.LimitReader(strings.NewReader("12345"), 5))
	if err != nil || string(b) != "12345" {
		t.Errorf("at the bound: %q %v", b, err)
	}
	b, err = io.ReadAll(reports.LimitReader(strings.NewReader("123456"), 5))
	if !errors.Is(err, reports.ErrTooLarge) || len(b) > 5 {
		t.Errorf("past the bound: %q %v", b, err)
	}
	// Moved from rundir's TestReadLimited when its ReadLimited (this
	// reader under another name) went.
	if _, err := io.ReadAll(reports.LimitReader(strings.NewReader("12345"), 4)); !errors.Is(err, reports.ErrTooLarge) {
		t.Errorf("err = %v", err)
	}
	if b, err := io.ReadAll(reports.LimitReader(strings.NewReader("1234"), 4)); err != nil || string(b) != "1234" {
		t.Errorf("%q %v", b, err)
	}
}

// Regression (issue 11, finding 6): `report` read results.json and the
// journal whole, whatever their size or kind. Oversized files, FIFOs and
// devices are refused without being read.
func TestReportInputsBounded(t *testing.T) {
	dir := t.TempDir()
	for name, size := range map[string]int64{bundle.ResultsFile: reports.MaxResultsBytes + 1, journal.File: reports.MaxJournalBytes + 1} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		f.Truncate(size) // sparse: no disk used
		f.Close()
	}
	if _, err := rundir.Load(filepath.Join(dir, bundle.ResultsFile)); !errors.Is(err, reports.ErrTooLarge) {
		t.Errorf("results.json over the bound: %v", err)
	}
	if _, err := rundir.Load(dir); !errors.Is(err, reports.ErrTooLarge) {
		t.Errorf("run directory over the bound: %v", err)
	}
	if _, _, err := journal.Read(dir); !errors.Is(err, reports.ErrTooLarge) {
		t.Errorf("journal over the bound: %v", err)
	}
	os.Remove(filepath.Join(dir, journal.File))
	if _, err := rundir.Load(dir); !errors.Is(err, reports.ErrTooLarge) {
		t.Errorf("results.json over the bound: %v", err)
	}
	fifoDir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(fifoDir, journal.File), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := journal.Read(fifoDir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("journal FIFO: %v", err)
	}
	if _, err := rundir.Load(fifoDir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("journal FIFO through rundir: %v", err)
	}
	if _, err := rundir.Load("/dev/zero"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("results /dev/zero: %v", err)
	}
}
