package reports

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func matrix(hosts, images int) []string {
	var m []string
	for h := range hosts {
		for i := range images {
			m = append(m, fmt.Sprintf("host%d/image%d", h, i))
		}
	}
	return m
}

// TestSplitPartition: every target in exactly one shard, the union is the
// whole matrix, and sizes differ by at most one.
func TestSplitPartition(t *testing.T) {
	for _, tc := range []struct{ hosts, images, n int }{{1, 1, 1}, {2, 3, 3}, {3, 4, 5}, {4, 4, 16}, {7, 3, 4}} {
		m := matrix(tc.hosts, tc.images)
		seen := map[string]int{}
		lo, hi := len(m), 0
		for i := 1; i <= tc.n; i++ {
			part := Split(m, i, tc.n)
			lo, hi = min(lo, len(part)), max(hi, len(part))
			for _, id := range part {
				seen[id]++
			}
		}
		for _, id := range m {
			if seen[id] != 1 {
				t.Errorf("%v: %s in %d shards", tc, id, seen[id])
			}
		}
		if len(seen) != len(m) || hi-lo > 1 {
			t.Errorf("%v: %d of %d targets, shard sizes %d..%d", tc, len(seen), len(m), lo, hi)
		}
	}
}

// TestSplitStable: the split depends on the set of targets only, not on
// their order (map order, the matrix as written), and is the same on
// every call; this golden pins it across releases and machines.
func TestSplitStable(t *testing.T) {
	m := matrix(2, 3)
	want := [][]string{{"host0/image0", "host1/image0"}, {"host0/image1", "host1/image1"}, {"host0/image2", "host1/image2"}}
	r := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		shuffled := slices.Clone(m)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		for i := 1; i <= 3; i++ {
			got := slices.Sorted(slices.Values(Split(shuffled, i, 3)))
			if !slices.Equal(got, want[i-1]) {
				t.Fatalf("shard %d/3 of %v = %v, want %v", i, shuffled, got, want[i-1])
			}
		}
	}
	// The shard keeps the order it was given.
	if got := Split([]string{"b/2", "a/1", "c/3"}, 1, 2); !slices.Equal(got, []string{"a/1", "c/3"}) {
		t.Errorf("order: %v", got)
	}
}

// TestSplitNoShards: a count below 1 (a crafted results.json) has no
// shards rather than dividing by zero.
func TestSplitNoShards(t *testing.T) {
	for _, n := range []int{0, -1} {
		if got := Split([]string{"a", "b"}, 1, n); got != nil {
			t.Errorf("Split(.., 1, %d) = %v, want nil", n, got)
		}
	}
}
