// Package journal is a run's crash-safe record: an append-only file of JSON
// lines (journal.jsonl in the run directory), one record per event, each
// synced to disk before the run goes on. A run killed with SIGKILL leaves
// every finished result readable; Replay rebuilds the result model from it,
// marked incomplete when the run never finished.
package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
)

// File is the journal's name in a run directory.
const File = "journal.jsonl"

// Event types.
const (
	RunStarted        = "run_started"
	RunResumed        = "run_resumed"
	TargetStarted     = "target_started"
	TargetProvisioned = "target_provisioned"
	CheckResult       = "check_result"
	TargetFinished    = "target_finished"
	TargetDestroyed   = "target_destroyed"
	RunFinished       = "run_finished"
)

// Record is one journal line. Only the fields of its Type are set.
type Record struct {
	Type string    `json:"type"`
	Time time.Time `json:"time"`

	// run_started / run_resumed
	RunID    string          `json:"run_id,omitempty"`
	Version  string          `json:"virtcert,omitempty"`
	PlanHash string          `json:"plan_sha256,omitempty"`
	PlanName string          `json:"plan,omitempty"`
	Plan     json.RawMessage `json:"plan_resolved,omitempty"` // the validated plan (no secrets)
	// Shard is the part of the plan's matrix this run covers (run --shard).
	Shard *reports.Shard `json:"shard,omitempty"`

	// target_*
	Target   string             `json:"target,omitempty"`
	Host     string             `json:"host,omitempty"`
	Image    string             `json:"image,omitempty"`
	Compare  string             `json:"compare,omitempty"`
	Profile  string             `json:"profile,omitempty"`
	HostInfo *drivers.HostInfo  `json:"host_info,omitempty"`
	Guest    *reports.GuestInfo `json:"guest_info,omitempty"`
	// Resources are the names of what was created (domain, overlay, seed)
	// so a reader of the journal knows what sweep must find.
	Resources []string `json:"resources,omitempty"`
	Error     string   `json:"error,omitempty"`
	Artifacts []string `json:"artifacts,omitempty"`

	// check_result
	Result *reports.Result `json:"result,omitempty"`
}

// Writer appends records. It is safe for concurrent use.
type Writer struct {
	mu  sync.Mutex
	f   *os.File
	err error
}

// Create opens dir/journal.jsonl for appending, creating it if needed.
// A symlink there is refused (O_NOFOLLOW): the journal never writes
// outside its run directory. Writers of a run directory use
// rundir.Dir.Journal.
func Create(dir string) (*Writer, error) {
	f, err := os.OpenFile(filepath.Join(dir, File), os.O_RDWR|os.O_CREATE|oNoFollow, 0o644)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return NewWriter(f)
}

// NewWriter appends to f, an open journal (read-write). A record cut
// mid-line by a crash is trimmed first, so the next record starts on a
// line of its own. The Writer owns f.
func NewWriter(f *os.File) (*Writer, error) {
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("journal: %s is not a regular file", File)
	}
	if n := st.Size(); n > 0 {
		b, err := io.ReadAll(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("journal: %w", err)
		}
		if b[len(b)-1] != '\n' {
			keep := int64(bytes.LastIndexByte(b, '\n') + 1)
			if err := f.Truncate(keep); err != nil {
				f.Close()
				return nil, fmt.Errorf("journal: trim partial record: %w", err)
			}
		}
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	return &Writer{f: f}, nil
}

// Append writes one record and syncs it to disk. After the first write
// error (a full disk) every later Append returns that error: the run must
// not believe results are kept when they are not.
func (w *Writer) Append(r Record) error {
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("journal: encode %s: %w", r.Type, err)
	}
	b = append(reports.EscapeJSONControls(b), '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.f == nil {
		return errors.New("journal: closed")
	}
	if _, err := w.f.Write(b); err != nil {
		w.err = fmt.Errorf("journal: write: %w", err)
		return w.err
	}
	if err := w.f.Sync(); err != nil {
		w.err = fmt.Errorf("journal: sync: %w", err)
		return w.err
	}
	return nil
}

// Err returns the first write error, if any.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// MaxRecord bounds one journal line (a check with a lot of evidence stays
// far below; anything longer is corrupt).
const MaxRecord = 16 << 20

// Read decodes every complete record of dir's journal. A last line without
// its newline (the process died while writing it) is ignored; a corrupt
// line elsewhere is skipped and counted in bad.
func Read(dir string) (recs []Record, bad int, err error) {
	f, err := reports.OpenLimited(filepath.Join(dir, File), reports.MaxJournalBytes)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	return Decode(f)
}

// Decode is Read on a stream.
func Decode(r io.Reader) (recs []Record, bad int, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br)
		if len(line) > 0 && err == nil {
			var rec Record
			if json.Unmarshal(line, &rec) != nil || rec.Type == "" {
				bad++
			} else {
				recs = append(recs, rec)
			}
		}
		if err == io.EOF {
			return recs, bad, nil
		}
		if err != nil {
			return recs, bad, err
		}
	}
}

// readLine returns one line without its newline; a final line without a
// newline comes back with io.EOF (and is then ignored as partial).
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > MaxRecord {
			// Drain the rest of this oversized line and report it corrupt.
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			if err != nil {
				return nil, err
			}
			return []byte{0}, nil
		}
		buf = append(buf, chunk...)
		switch err {
		case nil:
			return bytes.TrimRight(buf, "\r\n"), nil
		case bufio.ErrBufferFull:
			continue
		default:
			return nil, err // partial last line (or a read error)
		}
	}
}

// Replay rebuilds the run from dir's journal. The result is Complete only
// when a run_finished record ends it; otherwise its verdict is INCOMPLETE.
// A check reported twice (a resumed run) keeps its last result.
func Replay(dir string) (*reports.Run, error) {
	recs, _, err := Read(dir)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return Build(recs)
}

// Build folds records into a run.
func Build(recs []Record) (*reports.Run, error) {
	b := &builder{run: &reports.Run{Schema: reports.SchemaVersion}, byID: map[string]*reports.Target{}}
	for _, r := range recs {
		b.add(r)
	}
	if !b.started {
		return nil, errors.New("journal: no run_started record (not a virtcert journal, or empty)")
	}
	return b.run, nil
}

// builder is Build's state: the run so far and its targets by ID.
type builder struct {
	run     *reports.Run
	byID    map[string]*reports.Target
	started bool
}

// add folds one record into the run. A target record without a target
// (and a check result without a result) is ignored.
func (b *builder) add(r Record) {
	switch r.Type {
	case RunStarted, RunResumed:
		b.runStarted(r)
	case TargetStarted, TargetProvisioned, TargetFinished, CheckResult:
		if r.Target == "" || r.Type == CheckResult && r.Result == nil {
			return
		}
		b.targetRecord(b.target(r.Target), r)
	case RunFinished:
		b.run.Complete = true
		b.run.Finished = r.Time
	}
}

// target returns the target id, added in the order targets first appear.
func (b *builder) target(id string) *reports.Target {
	t := b.byID[id]
	if t == nil {
		t = &reports.Target{ID: id, Results: []*reports.Result{}}
		b.byID[id] = t
		b.run.Targets = append(b.run.Targets, t)
	}
	return t
}

func (b *builder) runStarted(r Record) {
	run := b.run
	if r.Type == RunStarted || !b.started {
		run.ID, run.PlanHash, run.PlanName = r.RunID, r.PlanHash, r.PlanName
		if r.Shard != nil {
			run.Shard = r.Shard
		}
		if run.Started.IsZero() {
			run.Started = r.Time
		}
	}
	if r.Version != "" {
		run.Version = r.Version
	}
	b.started = true
	// A resumed run is not finished until it says so again.
	run.Complete, run.Finished = false, time.Time{}
}

// targetRecord folds a target_* or check_result record into t.
func (b *builder) targetRecord(t *reports.Target, r Record) {
	switch r.Type {
	case TargetStarted:
		t.Host, t.Image, t.Compare, t.Profile = r.Host, r.Image, r.Compare, r.Profile
		if r.HostInfo != nil {
			t.HostInfo = *r.HostInfo
		}
		if t.Started.IsZero() {
			t.Started = r.Time
		}
		// Resumed: not finished until a new target_finished.
		t.Finished, t.Error = time.Time{}, ""
	case TargetProvisioned:
		if r.Guest != nil {
			t.Guest = *r.Guest
		}
	case CheckResult:
		setResult(t, r.Result)
	case TargetFinished:
		t.Error = r.Error
		t.Finished = r.Time
		if r.Guest != nil {
			t.Guest = *r.Guest
		}
		for _, a := range r.Artifacts {
			if !slices.Contains(t.Artifacts, a) {
				t.Artifacts = append(t.Artifacts, a)
			}
		}
	}
}

// setResult records res on t, in place of an earlier result of the same
// check (a resumed run keeps the last).
func setResult(t *reports.Target, res *reports.Result) {
	replaced := false
	for i, old := range t.Results {
		if old.Check == res.Check {
			t.Results[i], replaced = res, true
		}
	}
	if !replaced {
		t.Results = append(t.Results, res)
	}
}

// Start returns the first run_started record: the run ID and the resolved
// plan a resumed run re-reads.
func Start(recs []Record) (Record, bool) {
	for _, r := range recs {
		if r.Type == RunStarted {
			return r, true
		}
	}
	return Record{}, false
}

// Done lists, per target ID, the checks with a recorded result.
func Done(recs []Record) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, r := range recs {
		if r.Type == CheckResult && r.Result != nil {
			if out[r.Target] == nil {
				out[r.Target] = map[string]bool{}
			}
			out[r.Target][r.Result.Check] = true
		}
	}
	return out
}
