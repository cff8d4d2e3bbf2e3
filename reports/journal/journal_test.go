package journal

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/reportstest"
)

func sample(t *testing.T, dir string, finish bool) {
	t.Helper()
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	recs := []Record{
		{Type: RunStarted, RunID: "vc-20261121-233000-abcdef", PlanHash: "00ff", PlanName: "tiny", Version: "test"},
		{Type: TargetStarted, Target: "lab/tiny", Host: "lab", Image: "tiny", Profile: "kvm-tcg"},
		{Type: TargetProvisioned, Target: "lab/tiny", Guest: &reports.GuestInfo{Name: "vc-x-lab-tiny"}, Resources: []string{"domain vc-x-lab-tiny"}},
		{Type: CheckResult, Target: "lab/tiny", Result: &reports.Result{Check: "clock.offset", Status: reports.Pass}},
		{Type: CheckResult, Target: "lab/tiny", Result: &reports.Result{Check: "disk.integrity", Status: reports.Fail, Reason: "checksum mismatch"}},
	}
	if finish {
		recs = append(recs, Record{Type: TargetFinished, Target: "lab/tiny"}, Record{Type: TargetDestroyed, Target: "lab/tiny"}, Record{Type: RunFinished})
	}
	for _, r := range recs {
		if err := w.Append(r); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReplayComplete(t *testing.T) {
	dir := t.TempDir()
	sample(t, dir, true)
	run, err := Replay(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Complete || run.ID != "vc-20261121-233000-abcdef" || run.PlanHash != "00ff" || len(run.Targets) != 1 {
		t.Fatalf("run: %+v", run)
	}
	tg := run.Targets[0]
	if len(tg.Results) != 2 || tg.Guest.Name != "vc-x-lab-tiny" || tg.Finished.IsZero() {
		t.Fatalf("target: %+v", tg)
	}
	if run.Verdict() != reports.NotCertified {
		t.Errorf("verdict %s", run.Verdict())
	}
}

func TestReplayCutMidLine(t *testing.T) {
	dir := t.TempDir()
	sample(t, dir, false)
	p := filepath.Join(dir, File)
	b, _ := os.ReadFile(p)
	// Simulate SIGKILL during a write: half of one more record.
	cut := append(b, []byte(`{"type":"check_result","target":"lab/tiny","result":{"check":"net`)...)
	os.WriteFile(p, cut, 0o644)
	run, err := Replay(dir)
	if err != nil {
		t.Fatal(err)
	}
	if run.Complete || run.Verdict() != reports.NotCertified || len(run.Targets[0].Results) != 2 {
		t.Fatalf("partial run: complete=%v verdict=%s results=%d", run.Complete, run.Verdict(), len(run.Targets[0].Results))
	}
	// A passing partial run is INCOMPLETE, never CERTIFIED.
	run.Targets[0].Results = run.Targets[0].Results[:1]
	if run.Verdict() != reports.Incomplete {
		t.Errorf("verdict of partial passing run: %s", run.Verdict())
	}
	// Reopening trims the partial record so appends start on a new line.
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	w.Append(Record{Type: RunResumed, RunID: "vc-20261121-233000-abcdef"})
	w.Append(Record{Type: CheckResult, Target: "lab/tiny", Result: &reports.Result{Check: "disk.integrity", Status: reports.Pass}})
	w.Append(Record{Type: TargetFinished, Target: "lab/tiny"})
	w.Append(Record{Type: RunFinished})
	w.Close()
	recs, bad, err := Read(dir)
	if err != nil || bad != 0 {
		t.Fatalf("read after resume: bad=%d err=%v", bad, err)
	}
	run, _ = Build(recs)
	if !run.Complete || len(run.Targets[0].Results) != 2 || run.Verdict() != reports.Certified {
		t.Fatalf("resumed run: complete=%v results=%d verdict=%s", run.Complete, len(run.Targets[0].Results), run.Verdict())
	}
	if d := Done(recs); !d["lab/tiny"]["clock.offset"] || len(d["lab/tiny"]) != 2 {
		t.Errorf("done: %v", d)
	}
	if s, ok := Start(recs); !ok || s.PlanHash != "00ff" {
		t.Errorf("start: %+v", s)
	}
}

func TestCorruptAndEmpty(t *testing.T) {
	recs, bad, err := Decode(strings.NewReader("garbage\n{\"type\":\"run_started\",\"run_id\":\"x\"}\n{}\n"))
	if err != nil || bad != 2 || len(recs) != 1 {
		t.Fatalf("recs=%d bad=%d err=%v", len(recs), bad, err)
	}
	if _, err := Build(nil); err == nil {
		t.Error("empty journal accepted")
	}
	if _, err := Replay(t.TempDir()); err == nil {
		t.Error("missing journal accepted")
	}
}

func TestAppendAfterClose(t *testing.T) {
	w, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := w.Append(Record{Type: RunFinished}); err == nil {
		t.Error("append after close succeeded")
	}
}

func TestFullDisk(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	w := &Writer{f: f}
	defer w.Close()
	if err := w.Append(Record{Type: RunStarted, Time: time.Now()}); err == nil {
		t.Fatal("write to a full disk reported success")
	}
	if w.Err() == nil || w.Append(Record{Type: RunFinished}) == nil {
		t.Error("journal error not sticky")
	}
}

func FuzzReplay(f *testing.F) {
	dir := f.TempDir()
	w, _ := Create(dir)
	w.Append(Record{Type: RunStarted, RunID: "vc-1"})
	w.Append(Record{Type: CheckResult, Target: "a/b", Result: &reports.Result{Check: "x.y", Status: reports.Pass}})
	w.Append(Record{Type: RunFinished})
	w.Close()
	b, _ := os.ReadFile(filepath.Join(dir, File))
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte("{\"type\":\"target_finished\"}\n{\"type\":\"run_resumed\"}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, _, err := Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		run, err := Build(recs)
		if err != nil {
			return
		}
		_ = run.Verdict()
		if !run.Complete && run.Verdict() == reports.Certified {
			t.Fatal("incomplete run certified")
		}
	})
}

// Regression (issue 11, finding 7): DEL and C1 controls reached
// journal.jsonl raw; they are escaped and read back unchanged.
func TestJournalEscapesControls(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	id := "h/i\u009b2J\x7f\x1b"
	if err := w.Append(Record{Type: TargetStarted, Target: id}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	b, _ := os.ReadFile(filepath.Join(dir, File))
	if i, r := reportstest.FirstControl(string(b), "\n"); i >= 0 {
		t.Fatalf("raw control %U in the journal at %d", r, i)
	}
	recs, _, err := Read(dir)
	if err != nil || len(recs) != 1 || recs[0].Target != id {
		t.Fatalf("read back: %v %+v", err, recs)
	}
}
