package merge

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/bundle"
	"github.com/virtcert/virtcert/reports/rundir"
)

// The trust model of a merge is report verify's: a shard's bundle counts
// as coming from its runner only when a key the caller trusts verifies
// its manifest; its own manifest.pub proves nothing. So Dirs
//   - refuses a shard whose bundle FAILED (tampered, missing or extra
//     files, a bad signature, unsigned while keys were given): always;
//   - refuses an UNVERIFIED shard (signed but no trusted key given,
//     unsigned, no manifest at all, or a bare results.json) unless
//     AllowUnsigned, and then records it as UNVERIFIED;
//   - records every shard, its verdict and the signer's fingerprint in
//     the merged run (Run.Sources), which the reports show;
//   - takes a merged run as a shard UNVERIFIED when any of its own
//     Sources is not VERIFIED (whoever signed it), and carries those
//     Sources into the new merge, so merging again never turns an
//     UNVERIFIED shard VERIFIED.
// The merged bundle is signed afresh by the caller's key (report merge
// --sign-key): it vouches that these verified shards were joined.

var (
	// ErrShardUnverified: a shard's origin is not proven by a trusted key.
	ErrShardUnverified = errors.New("shard not verified")
	// ErrShardFailed: a shard's bundle failed verification.
	ErrShardFailed = errors.New("shard failed verification")
)

// Unverified is ShardSource.Bundle of a shard accepted without proof of
// origin (AllowUnsigned).
const Unverified = reports.BundleUnverified

// MaxArtifact bounds one artifact file copied from a shard.
const MaxArtifact = 64 << 20

// source verifies one shard path and loads its run. It returns the
// shard's source record followed by those of the shards it was merged
// from, if it is itself a merged run (see inner).
func source(p string, opt Options) (*reports.Run, []reports.ShardSource, error) {
	r, src, err := source1(p, opt)
	if err != nil {
		return nil, nil, err
	}
	return r, append([]reports.ShardSource{src}, inner(p, src, r)...), nil
}

// inner carries a merged run's own sources into the new merge. The
// merged bundle's signature vouches for the record, not for the shards it
// recorded UNVERIFIED; and a record no trusted key verified proves none
// of its VERIFIED claims. So an inner source is VERIFIED only when it was
// and the run holding it is (source1 already made that run UNVERIFIED
// when any of its sources is not VERIFIED).
func inner(p string, outer reports.ShardSource, r *reports.Run) []reports.ShardSource {
	var out []reports.ShardSource
	for _, s := range r.Sources {
		s.Path = s.Path + " (in " + p + ")"
		s.Targets = slices.Clone(s.Targets)
		if !outer.Verified() || !s.Verified() {
			s.Bundle, s.Signer = Unverified, ""
		}
		out = append(out, s)
	}
	return out
}

func source1(p string, opt Options) (*reports.Run, reports.ShardSource, error) {
	src := reports.ShardSource{Path: p, Bundle: Unverified}
	why := "a results.json has no manifest"
	if st, err := os.Stat(p); err != nil {
		return nil, src, err
	} else if st.IsDir() {
		rep, err := bundle.Verify(p, opt.Trusted...)
		switch {
		case errors.Is(err, bundle.ErrNoManifest):
			why = "it has no manifest (not sealed: an interrupted run?)"
		case err != nil:
			return nil, src, fmt.Errorf("merge: shard %s: %w: %v", p, ErrShardFailed, err)
		case rep.Failed():
			return nil, src, fmt.Errorf("merge: shard %s FAILED verification (%s): %w", p, failure(rep), ErrShardFailed)
		case rep.OK():
			src.Bundle, src.Signer = reports.BundleVerified, rep.Signer
		default:
			why = "signature " + rep.Signature
		}
	}
	if !src.Verified() && !opt.AllowUnsigned {
		return nil, src, fmt.Errorf("merge: shard %s is UNVERIFIED: %s; give the shards' signer's public key with --pub (or --allow-unsigned to merge it, recorded as UNVERIFIED): %w", p, why, ErrShardUnverified)
	}
	r, err := rundir.Load(p)
	if err != nil {
		return nil, src, fmt.Errorf("merge: shard %s: %w", p, err)
	}
	// A merged run that took any shard UNVERIFIED is UNVERIFIED as a
	// whole, however its own bundle is signed: re-signing a merge must
	// not launder its shards.
	var weak []string
	for _, id := range r.UnverifiedRuns() {
		weak = append(weak, "run "+reports.Line(id))
	}
	if len(weak) > 0 && src.Verified() {
		src.Bundle, src.Signer = Unverified, ""
		if !opt.AllowUnsigned {
			return nil, src, fmt.Errorf("merge: shard %s is UNVERIFIED: it is a merged run that took %s UNVERIFIED (its own signature does not vouch for them); verify those shards and merge again (or --allow-unsigned to merge it, recorded as UNVERIFIED): %w", p, strings.Join(weak, ", "), ErrShardUnverified)
		}
	}
	src.RunID = r.ID
	if r.Shard != nil {
		src.Shard = r.Shard.String()
	}
	for _, t := range r.Targets {
		src.Targets = append(src.Targets, t.ID)
	}
	return r, src, nil
}

// failure says why a bundle FAILED, on one line.
func failure(rep *bundle.Report) string {
	var why []string
	for _, l := range []struct {
		what  string
		paths []string
	}{{"tampered", rep.Tampered}, {"missing", rep.Missing}, {"extra", rep.Extra}} {
		if len(l.paths) > 0 {
			why = append(why, l.what+" "+reports.Line(strings.Join(l.paths, ", ")))
		}
	}
	if rep.Signature == bundle.SigInvalid || rep.Signature == bundle.SigMissing {
		why = append(why, "signature "+rep.Signature)
	}
	return strings.Join(why, "; ")
}

// artifacts reads the files a shard's targets list, to carry them into
// the merged bundle (read through the shard's root: no symlink followed).
func artifacts(dir string, r *reports.Run) ([]bundle.Artifact, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, nil
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	var out []bundle.Artifact
	for _, t := range r.Targets {
		prefix := bundle.ArtifactPath(t.ID, "x")
		prefix = prefix[:len(prefix)-1]
		for _, rel := range t.Artifacts {
			b, err := rundir.ReadFile(root, rel, MaxArtifact)
			if errors.Is(err, fs.ErrNotExist) {
				continue // listed but never written: listed the same in the merge
			}
			if err != nil {
				return nil, fmt.Errorf("merge: shard %s: artifact %s: %w", dir, rel, err)
			}
			out = append(out, bundle.Artifact{Target: t.ID, Name: strings.TrimPrefix(rel, prefix), Data: b})
		}
	}
	return out, nil
}

// Dirs verifies and loads each shard (a run directory, a bundle, or a
// results.json, read by rundir.Load like every other report command),
// merges them, records where each came from, and returns the artifacts
// of their targets to write into the merged bundle.
func Dirs(dirs []string, opt Options) (*reports.Run, []bundle.Artifact, error) {
	var runs []*reports.Run
	var srcs []reports.ShardSource
	for _, d := range dirs {
		r, src, err := source(d, opt)
		if err != nil {
			return nil, nil, err
		}
		runs = append(runs, r)
		srcs = append(srcs, src...)
	}
	m, err := Runs(runs, opt)
	if err != nil {
		return nil, nil, err
	}
	m.Sources = srcs
	var arts []bundle.Artifact
	for i, d := range dirs {
		a, err := artifacts(d, runs[i])
		if err != nil {
			return nil, nil, err
		}
		arts = append(arts, a...)
	}
	return m, arts, nil
}
