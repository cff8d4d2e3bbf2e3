package reports

import (
	"fmt"
	"slices"
	"strings"
)

// Split returns the target IDs of shard i (1-based) of n, in the order of
// matrix (every target ID of a plan, each once). The k-th ID in sorted
// order (from 0) goes to shard k mod n + 1: the split depends only on the
// set of IDs, never on map or file order, the machine or the run, and
// shards differ in size by at most one. run --shard and report merge both
// use it. A count below 1 has no shards (nil).
func Split(matrix []string, i, n int) []string {
	if n < 1 {
		return nil
	}
	rank := map[string]int{}
	for k, id := range slices.Sorted(slices.Values(matrix)) {
		rank[id] = k
	}
	var out []string
	for _, id := range matrix {
		if rank[id]%n+1 == i {
			out = append(out, id)
		}
	}
	return out
}

// SourceOf is the merged shard target id came from (nil: not merged, or
// not found).
func (r *Run) SourceOf(id string) *ShardSource {
	for i := range r.Sources {
		if slices.Contains(r.Sources[i].Targets, id) {
			return &r.Sources[i]
		}
	}
	return nil
}

// Text is one line on a merged shard: "shard 2/3, run vc-…, bundle
// VERIFIED (signed by SHA256:…)".
func (s *ShardSource) Text() string {
	t := "run " + s.RunID
	if s.Shard != "" {
		t = "shard " + s.Shard + ", " + t
	}
	t += ", bundle " + s.Bundle
	if s.Signer != "" {
		t += " (signed by " + s.Signer + ")"
	}
	return t
}

// UnverifiedBanner is a warning when any shard a merged run was made of
// is not VERIFIED (merged with --allow-unsigned, or merged from a run
// that took one so): no trusted key proves where those results came
// from. Empty when every source is VERIFIED or the run is not merged.
func (r *Run) UnverifiedBanner() string {
	var weak []string
	for _, s := range r.Sources {
		if s.Bundle != "VERIFIED" {
			weak = append(weak, s.RunID)
		}
	}
	if len(weak) == 0 {
		return ""
	}
	slices.Sort(weak)
	weak = slices.Compact(weak)
	return fmt.Sprintf("UNVERIFIED: %d of %d merged shard source(s) (run %s) were accepted without proof of origin (--allow-unsigned); no trusted key vouches for their results, whoever signed this bundle",
		len(weak), len(r.Sources), strings.Join(weak, ", "))
}
