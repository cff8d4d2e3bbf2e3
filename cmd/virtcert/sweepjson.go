package main

import (
	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
)

// SweepSchema identifies `sweep --json` (reports/SCHEMA.md).
const SweepSchema = "virtcert.sweep/v1"

// sweepDoc is `sweep --json`: what was removed (with --dry-run: what would
// be), host by host, and the error that stopped the sweep.
type sweepDoc struct {
	SchemaVersion string        `json:"schema_version"`
	DryRun        bool          `json:"dry_run"`
	Run           string        `json:"run,omitempty"`        // --run
	All           bool          `json:"all,omitempty"`        // --all
	OlderThan     string        `json:"older_than,omitempty"` // --older-than
	Resources     []sweptRecord `json:"resources"`
	Total         int           `json:"total"`
	Error         string        `json:"error,omitempty"`
}

type sweptRecord struct {
	Host string `json:"host"` // the plan's host name ("host" for --uri)
	Kind string `json:"kind"` // domain, volume, seed...
	Name string `json:"name"`
	Run  string `json:"run"` // the run label it carries
}

func sweepDocOf(f sweepFlags) *sweepDoc {
	d := &sweepDoc{SchemaVersion: SweepSchema, DryRun: f.dry, Run: f.label, All: f.all, Resources: []sweptRecord{}}
	if f.older > 0 {
		d.OlderThan = f.older.String()
	}
	return d
}

func (d *sweepDoc) add(host string, res []drivers.Resource) {
	for _, r := range res {
		d.Resources = append(d.Resources, sweptRecord{Host: reports.Line(host), Kind: reports.Line(r.Kind), Name: reports.Line(r.Name), Run: reports.Line(r.RunLabel)})
	}
	d.Total = len(d.Resources)
}

func (d *sweepDoc) done(err error) *sweepDoc {
	if err != nil {
		d.Error = oneLine(err.Error())
	}
	return d
}
