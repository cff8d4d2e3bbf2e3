package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/virtcert/virtcert/reports"
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
		st, _ := journal.Start(res.Records) // rundir.Resume made sure there is one
		if st.Shard == nil {
			return nil
		}
		if err := rr.Shard(st.Shard.Index, st.Shard.Count); err != nil {
			return err
		}
		if !slices.Equal(rr.ShardInfo.Matrix, st.Shard.Matrix) {
			return exitf(ExitInput, "--resume: the saved plan's targets differ from those shard %s split; the run directory was changed", st.Shard)
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
