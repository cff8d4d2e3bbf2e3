package rundir

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/virtcert/virtcert/reports/journal"
)

// Resumed is an interrupted run reopened to be finished: its directory and
// its journal, read once.
type Resumed struct {
	Dir     *Dir
	Records []journal.Record
	// Label is the run's label, from its run_started record.
	Label string
}

// ErrFinished is returned by Resume for a run that already finished.
var ErrFinished = errors.New("already finished")

// Resume reopens the interrupted run in path. It refuses a directory
// without a journal, a journal without a run_started record, and a run
// that finished.
func Resume(path string) (*Resumed, error) {
	d, err := open(path)
	if err != nil {
		return nil, err
	}
	recs, err := readJournal(d.root)
	if errors.Is(err, fs.ErrNotExist) {
		d.Close()
		return nil, fmt.Errorf("%s: not a run directory (no %s)", path, JournalFile)
	}
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	st, ok := journal.Start(recs)
	if !ok {
		d.Close()
		return nil, fmt.Errorf("%s: the journal has no run_started record", path)
	}
	for _, r := range recs {
		if r.Type == journal.RunFinished {
			d.Close()
			return nil, fmt.Errorf("%s: run %s %w", path, st.RunID, ErrFinished)
		}
	}
	return &Resumed{Dir: d, Records: recs, Label: st.RunID}, nil
}
