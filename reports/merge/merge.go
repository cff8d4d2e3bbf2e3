// Package merge combines shards (runs from separate CI jobs, each with
// some of the targets) into one run, from which one report is rendered.
//
// Rules:
//   - Shards may share a run ID (one pipeline, one label) or have
//     different ones. The merged run keeps the ID when all agree;
//     otherwise it gets Options.ID, or "merged-" plus a hash of the shard
//     IDs. Run.Shards lists every source run ID (flattened, sorted).
//   - The same target (host × image) in two shards is an error by default
//     (ErrDuplicateTarget): two verdicts for one target must not be
//     resolved silently. Options.LastWins lets a later shard (argument
//     order) replace an earlier one, for a re-run of a flaky job.
//   - Shards of different plans (plan hash) are an error (ErrPlanMismatch):
//     one certificate must describe one plan.
//   - Shards of run --shard i/n (Run.Shard) must be the n shards of one
//     split of one matrix, each once (ErrShardMismatch, ErrShardOverlap,
//     ErrShardMissing; LastWins lets a re-run shard replace the first),
//     each with only its own targets. The merged targets are in the
//     matrix's order, as the unsharded run has them.
//   - Started is the earliest, Finished the latest; the merged run is
//     Complete only when every shard is. Waivers are united (same waiver
//     entry: covers concatenated).
//
// The inputs are not modified; the merged run shares their targets.
package merge

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/virtcert/virtcert/reports"
)

// Options tune Runs.
type Options struct {
	// ID names the merged run when the shards' IDs differ.
	ID string
	// LastWins resolves a target present in several shards by taking the
	// last one instead of failing.
	LastWins bool
	// Trusted are the keys a shard's bundle must be signed by (Dirs).
	Trusted []ed25519.PublicKey
	// AllowUnsigned lets Dirs merge a shard no trusted key verifies,
	// recorded as UNVERIFIED; a shard that FAILED is refused regardless.
	AllowUnsigned bool
}

var (
	// ErrDuplicateTarget: the same target is in two shards.
	ErrDuplicateTarget = errors.New("target present in more than one shard")
	// ErrPlanMismatch: shards ran different plans.
	ErrPlanMismatch = errors.New("shards ran different plans")
	// ErrNoShards: nothing to merge.
	ErrNoShards = errors.New("no shards to merge")
)

// Runs merges shards in order.
func Runs(shards []*reports.Run, opt Options) (*reports.Run, error) {
	if len(shards) == 0 {
		return nil, ErrNoShards
	}
	matrix, err := checkShards(shards, opt.LastWins)
	if err != nil {
		return nil, err
	}
	first := shards[0]
	out := &reports.Run{Schema: reports.SchemaVersion, ID: first.ID, Version: first.Version, PlanHash: first.PlanHash,
		PlanName: first.PlanName, Started: first.Started, Finished: first.Finished, Complete: true}
	ids := map[string]bool{}
	versions := []string{}
	where := map[string]int{} // target ID -> index in out.Targets
	from := map[string]string{}
	waivers := map[string]int{}
	for _, s := range shards {
		if s.PlanHash != first.PlanHash {
			return nil, fmt.Errorf("merge: shard %s has plan %s, shard %s has plan %s: %w", first.ID, short(first.PlanHash), s.ID, short(s.PlanHash), ErrPlanMismatch)
		}
		if s.ID != first.ID {
			out.ID = ""
		}
		ids[s.ID] = true
		for _, x := range s.Shards {
			ids[x] = true
		}
		if !slices.Contains(versions, s.Version) {
			versions = append(versions, s.Version)
		}
		if !s.Started.IsZero() && (out.Started.IsZero() || s.Started.Before(out.Started)) {
			out.Started = s.Started
		}
		if s.Finished.After(out.Finished) {
			out.Finished = s.Finished
		}
		out.Complete = out.Complete && s.Complete
		if out.PlanName == "" {
			out.PlanName = s.PlanName
		}
		for _, t := range s.Targets {
			if i, dup := where[t.ID]; dup {
				if !opt.LastWins {
					return nil, fmt.Errorf("merge: %s is in shard %s and in shard %s: %w (use last-wins to take the later one)", t.ID, from[t.ID], s.ID, ErrDuplicateTarget)
				}
				out.Targets[i] = t
				from[t.ID] = s.ID
				continue
			}
			where[t.ID] = len(out.Targets)
			from[t.ID] = s.ID
			out.Targets = append(out.Targets, t)
		}
		for _, w := range s.Waivers {
			k := fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%v", w.Check, w.Host, w.Image, w.Expires.Format("2006-01-02"), w.Expired)
			if i, ok := waivers[k]; ok {
				out.Waivers[i].Covers = append(out.Waivers[i].Covers, w.Covers...)
				continue
			}
			waivers[k] = len(out.Waivers)
			w.Covers = append([]string(nil), w.Covers...)
			out.Waivers = append(out.Waivers, w)
		}
	}
	if matrix != nil {
		orderBy(out.Targets, matrix)
	}
	out.Version = strings.Join(versions, ", ")
	for id := range ids {
		out.Shards = append(out.Shards, id)
	}
	sort.Strings(out.Shards)
	if out.ID == "" {
		out.ID = opt.ID
		if out.ID == "" {
			h := sha256.Sum256([]byte(strings.Join(out.Shards, "\n")))
			out.ID = "merged-" + hex.EncodeToString(h[:6])
		}
	}
	return out, nil
}

func short(h string) string {
	if h == "" {
		return "(none)"
	}
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
