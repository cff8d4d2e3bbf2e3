package resolve

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
)

// Sharding (run --shard i/n) splits a plan's matrix across CI runners.
//
//   - The unit is the target (one host × image pair). Target IDs are
//     sorted, and the k-th (from 0) goes to shard k mod n + 1
//     (reports.Split). The split depends only on the set of target IDs:
//     not on map order, the matrix's order in the file, the machine or
//     the run. Shards differ in size by at most one target.
//   - A target's peer is not a target of its own: it is a guest the
//     shard running the target provisions from the plan's host and image
//     entries, which every shard has. So peers need no co-location.
//   - Targets of one comparison group (compare_as: the same guest OS on
//     several hosts) are not kept together. Keeping them together would
//     put a whole images × hosts column on one runner, which defeats the
//     split. The side-by-side table is made by `report merge` from every
//     shard; a shard's own report shows only its part, and says so.
//   - A shard with no target (n larger than the matrix) is refused: a run
//     that tests nothing must not look like a passed shard.

// ParseShard reads "i/n" (1 ≤ i ≤ n). Its error is bad input.
func ParseShard(s string) (index, count int, err error) {
	a, b, ok := strings.Cut(s, "/")
	i, e1 := strconv.Atoi(a)
	n, e2 := strconv.Atoi(b)
	switch {
	case !ok || e1 != nil || e2 != nil:
		return 0, 0, shardErr("want i/n, the shard i of n (e.g. 2/3), got %q", s)
	case n < 1:
		return 0, 0, shardErr("%q: n must be at least 1", s)
	case i < 1 || i > n:
		return 0, 0, shardErr("%q: i must be between 1 and %d", s, n)
	}
	return i, n, nil
}

func shardErr(format string, args ...any) error {
	return drivers.Errorf(drivers.ClassInput, "--shard", format, args...)
}

// Shard keeps the targets of shard i of n (Targets narrowed; the hosts
// stay, for peers) and records the shard. The saved plan keeps the whole
// matrix; the journal records the shard, and --resume splits that plan
// again, to the same targets.
func (r *Run) Shard(i, n int) error {
	var ids []string
	for _, t := range r.Targets {
		ids = append(ids, t.ID)
	}
	if n > len(ids) {
		return shardErr("%d/%d: the plan has %d target(s), so shard %d of %d would test nothing; use at most %d shard(s)", i, n, len(ids), i, n, len(ids))
	}
	keep := reports.Split(ids, i, n)
	r.Targets = slices.DeleteFunc(r.Targets, func(t *Target) bool { return !slices.Contains(keep, t.ID) })
	r.ShardInfo = &reports.Shard{Index: i, Count: n, Matrix: ids}
	return nil
}

// ShardLine is "shard i/n: k of m targets" (empty when not sharded).
func (r *Run) ShardLine() string {
	if r.ShardInfo == nil {
		return ""
	}
	return fmt.Sprintf("shard %s: %d of %d targets", r.ShardInfo, len(r.Targets), len(r.ShardInfo.Matrix))
}
