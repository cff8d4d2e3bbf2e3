package resolve

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// SchemaVersion is the version of the resolved run's JSON (`plan check
// --json`, `run --dry-run --json`; see cmd/virtcert/USAGE.md). It changes
// when a field is removed or changes meaning, not when one is added.
const SchemaVersion = "virtcert.resolved-run/v1"

// ProblemsSchema names the document of a bad plan's problems.
const ProblemsSchema = "virtcert.plan-problems/v1"

// WriteJSON writes the resolved run as indented JSON.
func (r *Run) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		SchemaVersion string `json:"schema_version"`
		*Run
	}{SchemaVersion, r})
}

// WriteText writes the resolved run for a reader: the run's settings,
// then each target with what it will run and what it leaves out.
func (r *Run) WriteText(w io.Writer) error {
	var b strings.Builder
	to := r.Timeouts
	fmt.Fprintf(&b, "plan %s (%s, sha256 %.12s)\n", r.Name, r.PlanPath, r.PlanSHA256)
	fmt.Fprintf(&b, "parallel %d; timeouts: provision %s, ready %s, check %s, destroy %s, run %s; peer %s\n",
		r.Parallel, to.Provision.D(), to.Ready.D(), orNone(to.Check.D().String(), to.Check == 0, "each check's own"),
		to.Destroy.D(), to.Run.D(), r.PeerMode)
	if r.Agreement {
		b.WriteString("tool agreement on: fio and iperf3 run beside vcprobe\n")
	}
	if l := r.ShardLine(); l != "" {
		b.WriteString(l + "\n")
	}
	for _, t := range r.Targets {
		fmt.Fprintf(&b, "\ntarget %s\n  driver %s, uri %s, transport %s, os %s, profile %s\n", t.ID, t.Driver, t.URI, t.Transport, t.OS, t.profileText())
		if t.Peer != nil {
			fmt.Fprintf(&b, "  peer: %s\n", t.Peer.text())
		}
		fmt.Fprintf(&b, "  will run (%d): %s\n", len(t.Checks), strings.Join(t.Checks, " "))
		if len(t.LeftOut) > 0 {
			fmt.Fprintf(&b, "  left out (%d):\n", len(t.LeftOut))
		}
		width := 0
		for _, l := range t.LeftOut {
			width = max(width, len(l.Check))
		}
		for _, l := range t.LeftOut {
			fmt.Fprintf(&b, "    %-*s  %s\n", width, l.Check, l.Reason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (t *Target) profileText() string {
	if t.Profile == ProfileAuto {
		return "auto (the " + t.Driver + " driver picks it from the host)"
	}
	return t.Profile
}

func (p *Peer) text() string {
	if p.Why != "" {
		return "none (" + p.Why + ")"
	}
	return p.Host + "/" + p.Image
}

func orNone(s string, none bool, alt string) string {
	if none {
		return alt
	}
	return s
}
