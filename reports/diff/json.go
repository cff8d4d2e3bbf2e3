package diff

import (
	"math"

	"github.com/virtcert/virtcert/reports"
)

// Schema identifies the JSON form of a Diff (reports/SCHEMA.md).
const Schema = "virtcert.diff/v1"

// Doc is the JSON form of a Diff (`report diff --json`). Lists are never
// null; a measurement's rel is null when it moved from 0.
type Doc struct {
	SchemaVersion  string          `json:"schema_version"`
	A              string          `json:"a"`
	B              string          `json:"b"`
	VerdictA       reports.Verdict `json:"verdict_a"`
	VerdictB       reports.Verdict `json:"verdict_b"`
	Threshold      float64         `json:"threshold"`
	Regressions    []ChangeDoc     `json:"regressions"`
	Fixes          []ChangeDoc     `json:"fixes"`
	Changed        []ChangeDoc     `json:"changed"`
	Added          []ChangeDoc     `json:"added"`
	Removed        []ChangeDoc     `json:"removed"`
	TargetsAdded   []string        `json:"targets_added"`
	TargetsRemoved []string        `json:"targets_removed"`
	Measurements   []MeasureDoc    `json:"measurements"`
}

// ChangeDoc is one Change; from or to is absent on the side it is missing.
type ChangeDoc struct {
	Target     string         `json:"target"`
	Check      string         `json:"check"`
	From       reports.Status `json:"from,omitempty"`
	To         reports.Status `json:"to,omitempty"`
	FromReason string         `json:"from_reason,omitempty"`
	ToReason   string         `json:"to_reason,omitempty"`
}

// MeasureDoc is one MeasureChange.
type MeasureDoc struct {
	Target string   `json:"target"`
	Check  string   `json:"check"`
	Name   string   `json:"name"`
	Unit   string   `json:"unit"`
	From   float64  `json:"from"`
	To     float64  `json:"to"`
	Rel    *float64 `json:"rel"`    // (to-from)/|from|; null when from is 0
	Better string   `json:"better"` // higher, lower, or "" (unknown)
	Worse  bool     `json:"worse"`  // against better, beyond the threshold
}

// Doc is d's JSON form.
func (d *Diff) Doc() Doc {
	doc := Doc{SchemaVersion: Schema, A: d.A, B: d.B, VerdictA: d.VerdictA, VerdictB: d.VerdictB, Threshold: d.Threshold,
		Regressions: changes(d.Regressions), Fixes: changes(d.Fixes), Changed: changes(d.Changed), Added: changes(d.Added), Removed: changes(d.Removed),
		TargetsAdded: nonNil(d.TargetsAdded), TargetsRemoved: nonNil(d.TargetsRemoved), Measurements: []MeasureDoc{}}
	for _, m := range d.Measures {
		md := MeasureDoc{Target: m.Target, Check: m.Check, Name: m.Name, Unit: m.Unit, From: m.From, To: m.To, Better: m.Better, Worse: m.Worse}
		if !math.IsInf(m.Rel, 0) && !math.IsNaN(m.Rel) {
			r := m.Rel
			md.Rel = &r
		}
		doc.Measurements = append(doc.Measurements, md)
	}
	return doc
}

func changes(cs []Change) []ChangeDoc {
	out := []ChangeDoc{}
	for _, c := range cs {
		out = append(out, ChangeDoc(c))
	}
	return out
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}
