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

// ShardSource.Bundle values: how a merged shard's origin was checked.
const (
	BundleVerified   = "VERIFIED"   // intact, signed by a trusted key
	BundleUnverified = "UNVERIFIED" // accepted without proof of origin
)

// Verified reports whether a trusted key proved where s came from. It is
// the one test of a source's verified-ness: report merge's refusals, its
// carrying of a merged run's own sources, and the UNVERIFIED banner all
// ask it.
func (s *ShardSource) Verified() bool { return s.Bundle == BundleVerified }

// UnverifiedRuns lists the run IDs of the sources that are not Verified,
// sorted, each once (nil: every source is, or the run is not merged).
func (r *Run) UnverifiedRuns() []string {
	var weak []string
	for i := range r.Sources {
		if !r.Sources[i].Verified() {
			weak = append(weak, r.Sources[i].RunID)
		}
	}
	slices.Sort(weak)
	return slices.Compact(weak)
}

// UnverifiedBanner is a warning when any shard a merged run was made of
// is not VERIFIED (merged with --allow-unsigned, or merged from a run
// that took one so): no trusted key proves where those results came
// from. Empty when every source is VERIFIED or the run is not merged.
func (r *Run) UnverifiedBanner() string {
	weak := r.UnverifiedRuns()
	if len(weak) == 0 {
		return ""
	}
	return fmt.Sprintf("UNVERIFIED: %d of %d merged shard source(s) (run %s) were accepted without proof of origin (--allow-unsigned); no trusted key vouches for their results, whoever signed this bundle",
		len(weak), len(r.Sources), strings.Join(weak, ", "))
}
