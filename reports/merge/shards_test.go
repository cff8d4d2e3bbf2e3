package merge

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/reportstest"
)

// split cuts the sample run into n shards the way run --shard does.
func split(n int) []*reports.Run {
	whole := reportstest.Sample()
	var matrix []string
	for _, t := range whole.Targets {
		matrix = append(matrix, t.ID)
	}
	var out []*reports.Run
	for i := 1; i <= n; i++ {
		r := reportstest.Sample()
		own := reports.Split(matrix, i, n)
		r.Targets = slices.DeleteFunc(r.Targets, func(t *reports.Target) bool { return !slices.Contains(own, t.ID) })
		r.Shard = &reports.Shard{Index: i, Count: n, Matrix: matrix}
		r.ID += "-" + r.Shard.String()
		out = append(out, r)
	}
	return out
}

func TestShardsMergeInMatrixOrder(t *testing.T) {
	s := split(3)
	slices.Reverse(s) // the order given does not matter
	m, err := Runs(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, t := range m.Targets {
		got = append(got, t.ID)
	}
	if want := s[0].Shard.Matrix; !slices.Equal(got, want) {
		t.Errorf("targets %v, want the matrix order %v", got, want)
	}
	if m.Shard != nil || len(m.Shards) != 3 {
		t.Errorf("merged run: shard %v, shards %v", m.Shard, m.Shards)
	}
}

func TestShardRefusals(t *testing.T) {
	other := split(2)
	unsharded := reportstest.Sample()
	unsharded.Targets = nil
	foreign := split(3)
	foreign[1].Targets = append(foreign[1].Targets, foreign[0].Targets[0])
	moved := split(3)
	moved[2].Shard.Matrix = append(slices.Clone(moved[2].Shard.Matrix), "extra/x")
	for _, tc := range []struct {
		name string
		runs []*reports.Run
		want error
		msg  string
	}{
		{"missing", split(3)[:2], ErrShardMissing, "3/3 not given (2 of 3 shards here)"},
		{"missing two", split(3)[1:2], ErrShardMissing, "1/3, 3/3 not given"},
		{"overlap", append(split(3), split(3)[1]), ErrShardOverlap, "shard 2/3 is run"},
		{"different counts", append(split(3)[:1], other...), ErrShardMismatch, "is shard 1/2"},
		{"unsharded among shards", append(split(3), unsharded), ErrShardMismatch, "is not a shard"},
		{"different matrices", moved, ErrShardMismatch, "split different matrices"},
		{"target of another shard", foreign, ErrShardMismatch, "not in its part of the split"},
	} {
		_, err := Runs(tc.runs, Options{})
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want %v with %q", tc.name, err, tc.want, tc.msg)
		}
	}
	// Impossible shard numbers in a results.json: refused, never a
	// division by zero or an index outside the split.
	for _, sh := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {2, 1}, {-1, -1}, {1, -3}, {4, 3}} {
		r := split(1)[0]
		r.Shard.Index, r.Shard.Count = sh[0], sh[1]
		if _, err := Runs([]*reports.Run{r}, Options{}); !errors.Is(err, ErrShardMismatch) || !strings.Contains(err.Error(), "which no split has") {
			t.Errorf("shard %d of %d: err = %v, want ErrShardMismatch", sh[0], sh[1], err)
		}
	}
	bad := split(3)
	bad[1].Shard.Index = 7
	if _, err := Runs(bad, Options{}); !errors.Is(err, ErrShardMismatch) {
		t.Errorf("shard 7/3 among shards: err = %v, want ErrShardMismatch", err)
	}
	// A re-run of one shard replaces it with --last-wins.
	rerun := split(3)[1]
	rerun.ID = "rerun"
	m, err := Runs(append(split(3), rerun), Options{LastWins: true})
	if err != nil || len(m.Targets) != 3 {
		t.Errorf("last-wins: %v", err)
	}
	// Shards of different plans.
	s := split(3)
	s[2].PlanHash = "other"
	if _, err := Runs(s, Options{}); !errors.Is(err, ErrPlanMismatch) {
		t.Errorf("plan mismatch: %v", err)
	}
}
