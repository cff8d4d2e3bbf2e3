package reports

import "slices"

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
