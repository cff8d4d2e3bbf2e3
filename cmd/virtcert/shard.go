package main

import (
	"cmp"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/bundle"
	"github.com/virtcert/virtcert/reports/html"
	"github.com/virtcert/virtcert/reports/journal"
	"github.com/virtcert/virtcert/reports/rundir"
	"github.com/virtcert/virtcert/resolve"
)

// applyShard narrows rr to shard spec ("i/n", run --shard), or, on
// --resume, to the shard the interrupted run's journal recorded: the
// saved plan keeps the whole matrix and the split is deterministic, so
// the resumed run gets the same targets.
func applyShard(rr *resolve.Run, spec string, res *rundir.Resumed) error {
	if res != nil {
		for _, r := range res.Records {
			if r.Type == journal.RunStarted && r.Shard != nil {
				if err := rr.Shard(r.Shard.Index, r.Shard.Count); err != nil {
					return err
				}
				if !slices.Equal(rr.ShardInfo.Matrix, r.Shard.Matrix) {
					return exitf(ExitInput, "--resume: the saved plan's targets differ from those shard %s split; the run directory was changed", r.Shard)
				}
				return nil
			}
		}
		return nil
	}
	if spec == "" {
		return nil
	}
	i, n, err := resolve.ParseShard(spec)
	if err != nil {
		return err
	}
	return rr.Shard(i, n)
}

// writeMerged writes a merged run's bundle with the shards' artifacts.
func writeMerged(d *rundir.Dir, run *reports.Run, arts []bundle.Artifact, signKey string) (reportPaths, error) {
	dir := d.Path()
	opt := bundle.Options{HTML: html.Options{Generated: time.Now()}}
	if signKey != "" {
		k, err := bundle.LoadPrivateKey(signKey)
		if err != nil {
			return reportPaths{dir: dir}, err
		}
		opt.SignKey = k
	}
	if err := bundle.Write(d, run, arts, opt); err != nil {
		return reportPaths{dir: dir}, err
	}
	return reportPaths{dir: dir, results: filepath.Join(dir, ResultsFile), junit: filepath.Join(dir, JUnitFile), html: filepath.Join(dir, HTMLFile)}, nil
}

// printSources says which shards were merged and how each was verified.
func printSources(w io.Writer, run *reports.Run) {
	l := reports.Line
	for _, s := range run.Sources {
		by := ""
		if s.Signer != "" {
			by = " signed by " + s.Signer
		}
		fmt.Fprintf(w, "shard %-5s run %s (%s): %d target(s), bundle %s%s\n", l(cmp.Or(s.Shard, "-")), l(s.RunID), l(s.Path), len(s.Targets), l(s.Bundle), l(by))
	}
}
