package merge

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/bundle"
	"github.com/virtcert/virtcert/reports/reportstest"
	"github.com/virtcert/virtcert/reports/rundir"
)

// shards splits the sample run into one run per target, as three CI jobs
// would produce.
func shards(sameID bool) []*reports.Run {
	var out []*reports.Run
	for i := 0; i < 3; i++ {
		r := reportstest.Sample()
		r.Targets = r.Targets[i : i+1]
		if !sameID {
			r.ID = r.ID + "-job" + string(rune('a'+i))
		}
		r.Started = r.Started.Add(time.Duration(i) * time.Minute)
		r.Finished = r.Finished.Add(time.Duration(i) * time.Minute)
		out = append(out, r)
	}
	return out
}

func TestMergeSameID(t *testing.T) {
	s := shards(true)
	s[2].Complete = false
	m, err := Runs(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != s[0].ID || len(m.Targets) != 3 || len(m.Shards) != 1 || m.Complete {
		t.Errorf("merged: id %s targets %d shards %v complete %v", m.ID, len(m.Targets), m.Shards, m.Complete)
	}
	if !m.Started.Equal(reportstest.Epoch) || !m.Finished.Equal(reportstest.Epoch.Add(12*time.Minute)) {
		t.Errorf("times %v %v", m.Started, m.Finished)
	}
	if m.Verdict() != reports.NotCertified {
		t.Errorf("verdict %s", m.Verdict())
	}
}

func TestMergeDifferentIDs(t *testing.T) {
	s := shards(false)
	m, err := Runs(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.ID, "merged-") || len(m.Shards) != 3 || m.Shards[0] != s[0].ID {
		t.Errorf("id %s shards %v", m.ID, m.Shards)
	}
	m2, _ := Runs(s, Options{ID: "nightly-42"})
	if m2.ID != "nightly-42" {
		t.Errorf("explicit id: %s", m2.ID)
	}
	// Merging a merged run with another keeps the flattened shard list.
	extra := reportstest.Sample()
	extra.ID, extra.Targets = "other", nil
	m3, err := Runs([]*reports.Run{m, extra}, Options{})
	if err != nil || len(m3.Shards) != 5 {
		t.Errorf("nested merge: %v %v", err, m3.Shards)
	}
}

func TestDuplicateTarget(t *testing.T) {
	s := shards(false)
	again := reportstest.Sample()
	again.ID = "rerun"
	again.Targets = again.Targets[1:2]
	again.Targets[0].Results[2].Status = reports.Pass
	_, err := Runs(append(s, again), Options{})
	if !errors.Is(err, ErrDuplicateTarget) || !strings.Contains(err.Error(), "hyperv-sim/debian-12") {
		t.Fatalf("err = %v", err)
	}
	m, err := Runs(append(s, again), Options{LastWins: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Targets) != 3 || m.Targets[1].Results[2].Status != reports.Pass {
		t.Errorf("last-wins did not take the re-run")
	}
}

func TestPlanMismatch(t *testing.T) {
	s := shards(true)
	s[1].PlanHash = "different"
	if _, err := Runs(s, Options{}); !errors.Is(err, ErrPlanMismatch) {
		t.Fatalf("err = %v", err)
	}
	if _, err := Runs(nil, Options{}); !errors.Is(err, ErrNoShards) {
		t.Fatalf("err = %v", err)
	}
}

func TestDirs(t *testing.T) {
	var dirs []string
	for i, s := range shards(false) {
		d := filepath.Join(t.TempDir(), "shard"+string(rune('0'+i)))
		rd, err := rundir.Create(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := bundle.Write(rd, s, nil, bundle.Options{NoRenderings: true}); err != nil {
			t.Fatal(err)
		}
		rd.Close()
		dirs = append(dirs, d)
	}
	m, _, err := Dirs(dirs, Options{AllowUnsigned: true})
	if err != nil || len(m.Targets) != 3 {
		t.Fatalf("%v %+v", err, m)
	}
	os.WriteFile(filepath.Join(dirs[1], bundle.ResultsFile), []byte("{"), 0o644)
	if _, _, err := Dirs(dirs, Options{AllowUnsigned: true}); err == nil {
		t.Error("broken shard accepted")
	}
}

func TestWaiversUnited(t *testing.T) {
	s := shards(false)
	w := reports.WaiverNote{Check: "clock.*", Justification: "j", Tracker: "T-1", Expires: reportstest.Epoch}
	w1, w2 := w, w
	w1.Covers = []string{"lab-kvm/debian-12 clock.source"}
	w2.Covers = []string{"hyperv-sim/debian-12 clock.offset"}
	s[0].Waivers = []reports.WaiverNote{w1}
	s[1].Waivers = []reports.WaiverNote{w2, {Check: "other", Tracker: "T-2", Expires: reportstest.Epoch, Expired: true}}
	m, err := Runs(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Waivers) != 2 || len(m.Waivers[0].Covers) != 2 || m.Waivers[1].Check != "other" {
		t.Errorf("waivers %+v", m.Waivers)
	}
	if len(s[0].Waivers[0].Covers) != 1 {
		t.Error("merge modified its input")
	}
}
