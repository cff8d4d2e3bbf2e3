package runner

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/virtcert/virtcert/guests/diag"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/reports"
)

// CollectTimeout bounds the collection of one guest's diagnostics (one
// command): a guest that does not answer in time is noted, not waited for.
const CollectTimeout = 30 * time.Second

// DiagnosticsFile is the index of a target's diagnostics: what ran, how
// long it took and what came back, or why nothing was collected.
const DiagnosticsFile = "diagnostics.txt"

// collectMode is when diagnostics are saved: --collect, else the plan's
// collect:, else on failure.
func (r *runner) collectMode() string {
	return cmp.Or(r.opt.Collect, r.rr.Collect, plan.CollectOnFailure)
}

// wantsDiagnostics reports whether a target that failed (or not) gets
// its guest's diagnostics.
func (r *runner) wantsDiagnostics(failed bool) bool {
	switch r.collectMode() {
	case plan.CollectAlways:
		return true
	case plan.CollectNever:
		return false
	}
	return failed
}

// collect saves the guest's diagnostics among the target's artifacts
// (before teardown destroys it), in one command bounded by
// CollectTimeout; why is "" or the reason they cannot be collected. A
// collection that fails is noted in DiagnosticsFile and the progress,
// and never changes a verdict.
func (x *targetRun) collect(ctx context.Context, s *session, why string) {
	r, t := x.r, x.t
	var idx strings.Builder
	defer func() {
		r.addArtifact(t, filepath.Join(x.dir, DiagnosticsFile), []byte(idx.String()))
	}()
	if why == "" && ctx.Err() != nil {
		why = "the run was interrupted"
	}
	if why != "" {
		fmt.Fprintf(&idx, "diagnostics not collected: %s\n", why)
		r.progress(t.ID, "diagnostics not collected: %s", why)
		return
	}
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	cmd := diag.For(x.rt.OS, hex.EncodeToString(nonce[:]))
	cctx, cancel := context.WithTimeout(ctx, CollectTimeout)
	defer cancel()
	start := time.Now()
	res, err := s.os.Run(cctx, transport.Command{Cmd: cmd.Cmd, Timeout: CollectTimeout})
	took := time.Since(start)
	fmt.Fprintf(&idx, "guest %s, %s, one command, %.1fs, exit %d\n", s.g.Name(), cmp.Or(x.rt.OS, "linux"), took.Seconds(), res.Exit)
	secs := cmd.Split(res.Stdout)
	if err != nil {
		fmt.Fprintf(&idx, "collection failed: %s\n", reports.Clean(err.Error()))
	}
	for _, sec := range secs {
		r.addArtifact(t, filepath.Join(x.dir, sec.File), sec.Data)
		note := fmt.Sprintf("%d bytes", len(sec.Data))
		if sec.Cut {
			note = fmt.Sprintf("cut at %d bytes", diag.MaxSection)
		}
		fmt.Fprintf(&idx, "  %-22s %s\n", sec.File, note)
	}
	for _, f := range cmd.Files() {
		if !slices.ContainsFunc(secs, func(s diag.Section) bool { return s.File == f }) {
			fmt.Fprintf(&idx, "  %-22s missing from the output\n", f)
		}
	}
	fmt.Fprintf(&idx, "(every section bounded to %d bytes; lines that may hold a secret removed)\n\ncommand:\n%s\n", diag.MaxSection, cmd.Cmd)
	if err != nil {
		r.progress(t.ID, "diagnostics: collection failed after %.1fs: %s", took.Seconds(), reports.Clean(err.Error()))
		return
	}
	r.progress(t.ID, "diagnostics: %d file(s) saved in %.1fs", len(secs), took.Seconds())
}

// addArtifact writes b at p (under the run directory, through its one
// writer) and lists it among the target's artifacts.
func (r *runner) addArtifact(t *reports.Target, p string, b []byte) {
	if r.writeArtifact(p, b) != nil {
		return
	}
	rel, _ := filepath.Rel(r.opt.Out, p)
	rel = filepath.ToSlash(rel)
	if !slices.Contains(t.Artifacts, rel) {
		t.Artifacts = append(t.Artifacts, rel)
	}
}
