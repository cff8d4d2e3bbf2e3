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
	m := newMerger(shards[0], opt)
	for _, s := range shards {
		if s.PlanHash != m.first.PlanHash {
			return nil, fmt.Errorf("merge: shard %s has plan %s, shard %s has plan %s: %w", m.first.ID, short(m.first.PlanHash), s.ID, short(s.PlanHash), ErrPlanMismatch)
		}
		m.header(s)
		if err := m.targets(s); err != nil {
			return nil, err
		}
		m.waivers(s)
	}
	if matrix != nil {
		orderBy(m.out.Targets, matrix)
	}
	m.finish()
	return m.out, nil
}

// merger is Runs' state: the merged run so far, and what it has seen.
type merger struct {
	opt      Options
	first    *reports.Run
	out      *reports.Run
	ids      map[string]bool   // run IDs merged (shards and theirs)
	versions []string          // distinct virtcert versions, in order
	where    map[string]int    // target ID -> index in out.Targets
	from     map[string]string // target ID -> run ID it came from
	waiverAt map[string]int    // waiver key -> index in out.Waivers
}

func newMerger(first *reports.Run, opt Options) *merger {
	out := &reports.Run{Schema: reports.SchemaVersion, ID: first.ID, Version: first.Version, PlanHash: first.PlanHash,
		PlanName: first.PlanName, Started: first.Started, Finished: first.Finished, Complete: true}
	return &merger{opt: opt, first: first, out: out, ids: map[string]bool{}, versions: []string{},
		where: map[string]int{}, from: map[string]string{}, waiverAt: map[string]int{}}
}

// header folds s's run ID, version, times, completeness and plan name.
func (m *merger) header(s *reports.Run) {
	out := m.out
	if s.ID != m.first.ID {
		out.ID = ""
	}
	m.ids[s.ID] = true
	for _, x := range s.Shards {
		m.ids[x] = true
	}
	if !slices.Contains(m.versions, s.Version) {
		m.versions = append(m.versions, s.Version)
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
}

// targets adds s's targets; one already merged is refused, or with
// LastWins replaced in place.
func (m *merger) targets(s *reports.Run) error {
	for _, t := range s.Targets {
		if i, dup := m.where[t.ID]; dup {
			if !m.opt.LastWins {
				return fmt.Errorf("merge: %s is in shard %s and in shard %s: %w (use last-wins to take the later one)", t.ID, m.from[t.ID], s.ID, ErrDuplicateTarget)
			}
			m.out.Targets[i] = t
			m.from[t.ID] = s.ID
			continue
		}
		m.where[t.ID] = len(m.out.Targets)
		m.from[t.ID] = s.ID
		m.out.Targets = append(m.out.Targets, t)
	}
	return nil
}

// waivers adds s's waiver notes; one the same as an earlier one (check,
// host, image, expiry) adds only the results it covers.
func (m *merger) waivers(s *reports.Run) {
	for _, w := range s.Waivers {
		k := fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%v", w.Check, w.Host, w.Image, w.Expires.Format("2006-01-02"), w.Expired)
		if i, ok := m.waiverAt[k]; ok {
			m.out.Waivers[i].Covers = append(m.out.Waivers[i].Covers, w.Covers...)
			continue
		}
		m.waiverAt[k] = len(m.out.Waivers)
		w.Covers = append([]string(nil), w.Covers...)
		m.out.Waivers = append(m.out.Waivers, w)
	}
}

// finish sets the merged version, the run IDs merged, and the merged
// run's ID: the shards' common one, else opt.ID, else one derived from
// the shards' IDs.
func (m *merger) finish() {
	out := m.out
	out.Version = strings.Join(m.versions, ", ")
	for id := range m.ids {
		out.Shards = append(out.Shards, id)
	}
	sort.Strings(out.Shards)
	if out.ID == "" {
		out.ID = m.opt.ID
		if out.ID == "" {
			h := sha256.Sum256([]byte(strings.Join(out.Shards, "\n")))
			out.ID = "merged-" + hex.EncodeToString(h[:6])
		}
	}
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
