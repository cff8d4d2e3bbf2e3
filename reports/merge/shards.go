package merge

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/virtcert/virtcert/reports"
)

var (
	// ErrShardMismatch: the runs are not shards of one split (a sharded
	// and an unsharded run, different counts or different matrices).
	ErrShardMismatch = errors.New("runs are not shards of one split")
	// ErrShardOverlap: one shard given twice.
	ErrShardOverlap = errors.New("shard given twice")
	// ErrShardMissing: a shard of the split was not given.
	ErrShardMissing = errors.New("shard missing")
)

// checkShards checks that shards (runs of run --shard i/n) are exactly
// the n shards of one split of one matrix, each once (with lastWins, a
// later run of the same shard replaces the earlier, as for targets), and
// that each holds only its own targets. Unsharded runs (all of them) are
// left to the target rules. It returns the matrix order (nil: unsharded).
func checkShards(shards []*reports.Run, lastWins bool) ([]string, error) {
	var first *reports.Run
	for _, s := range shards {
		if s.Shard != nil {
			first = s
			break
		}
	}
	if first == nil {
		return nil, nil
	}
	seen := map[int]string{}
	for _, s := range shards {
		if err := sameSplit(first, s); err != nil {
			return nil, err
		}
		// results.json is input: a count of 0 would divide by zero in
		// Split, an index outside 1..count names no shard.
		if s.Shard.Count < 1 || s.Shard.Index < 1 || s.Shard.Index > s.Shard.Count {
			return nil, fmt.Errorf("merge: run %s says it is shard %d of %d, which no split has: %w", s.ID, s.Shard.Index, s.Shard.Count, ErrShardMismatch)
		}
		if prev, dup := seen[s.Shard.Index]; dup && !lastWins {
			return nil, fmt.Errorf("merge: shard %s is run %s and run %s: %w (use --last-wins to take the later one)", s.Shard, prev, s.ID, ErrShardOverlap)
		}
		seen[s.Shard.Index] = s.ID
		if err := ownTargets(s); err != nil {
			return nil, err
		}
	}
	var missing []string
	for i := 1; i <= first.Shard.Count; i++ {
		if _, ok := seen[i]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", i, first.Shard.Count))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("merge: %s not given (%d of %d shards here): %w; give every shard's run directory", strings.Join(missing, ", "), len(seen), first.Shard.Count, ErrShardMissing)
	}
	return first.Shard.Matrix, nil
}

func sameSplit(first, s *reports.Run) error {
	switch {
	case s.Shard == nil:
		return fmt.Errorf("merge: run %s is shard %s, run %s is not a shard: %w", first.ID, first.Shard, s.ID, ErrShardMismatch)
	case s.Shard.Count != first.Shard.Count:
		return fmt.Errorf("merge: run %s is shard %s, run %s is shard %s: %w", first.ID, first.Shard, s.ID, s.Shard, ErrShardMismatch)
	case !slices.Equal(s.Shard.Matrix, first.Shard.Matrix):
		return fmt.Errorf("merge: runs %s and %s split different matrices (%d and %d targets): %w", first.ID, s.ID, len(first.Shard.Matrix), len(s.Shard.Matrix), ErrShardMismatch)
	}
	return nil
}

// ownTargets: a shard's targets are among those its split gives it (an
// interrupted shard may lack some; the merged run is then INCOMPLETE).
func ownTargets(s *reports.Run) error {
	own := reports.Split(s.Shard.Matrix, s.Shard.Index, s.Shard.Count)
	for _, t := range s.Targets {
		if !slices.Contains(own, t.ID) {
			return fmt.Errorf("merge: run %s (shard %s) has target %s, which is not in its part of the split: %w", s.ID, s.Shard, t.ID, ErrShardMismatch)
		}
	}
	return nil
}

// orderBy sorts targets into the matrix order, as the unsharded run has
// them.
func orderBy(targets []*reports.Target, matrix []string) {
	slices.SortStableFunc(targets, func(a, b *reports.Target) int {
		return slices.Index(matrix, a.ID) - slices.Index(matrix, b.ID)
	})
}
