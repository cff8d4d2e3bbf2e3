// Package diff compares two runs (A = before, B = after): regressions,
// fixes, other status changes, checks and targets added or removed, and
// measurements that moved by more than a relative threshold. It renders
// the comparison as text (for CI logs) and as a self-contained HTML page.
//
// Results are matched by target ID (host/image) and check ID; measurements
// by name within a result. Classification (a result is "failing" when
// FAIL, ERROR or WAIVED — a waived result still failed underneath):
//   - regression: not failing in A (PASS or SKIP), failing in B;
//   - fix: failing in A, PASS in B (a SKIP proves nothing, it is "changed");
//   - changed: any other status change (FAIL→ERROR, FAIL→WAIVED, PASS→SKIP).
package diff

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/virtcert/virtcert/reports"
)

// Options tune Compare.
type Options struct {
	// Threshold is the relative change (0.10 = 10%) beyond which a
	// measurement is reported. Zero means DefaultThreshold.
	Threshold float64
}

// DefaultThreshold is 10%.
const DefaultThreshold = 0.10

// Change is one result whose status differs (or that exists on one side).
type Change struct {
	Target, Check        string
	From, To             reports.Status // empty when absent on that side
	FromReason, ToReason string
}

// MeasureChange is one measurement that moved beyond the threshold.
type MeasureChange struct {
	Target, Check, Name, Unit string
	From, To                  float64
	// Rel is (To-From)/|From|; ±Inf when From is 0.
	Rel float64
	// Worse is true when the move goes against Better ("higher"/"lower")
	// by more than the threshold (worseBeyond: "lower" compares
	// magnitudes); Better empty means direction unknown (Worse false).
	Worse  bool
	Better string
}

// Diff is the comparison of run A (before) and run B (after).
type Diff struct {
	A, B                         string
	VerdictA, VerdictB           reports.Verdict
	Threshold                    float64
	Regressions, Fixes, Changed  []Change
	Added, Removed               []Change
	TargetsAdded, TargetsRemoved []string
	Measures                     []MeasureChange
}

// HasRegressions is what a CI gate asks.
func (d *Diff) HasRegressions() bool { return len(d.Regressions) > 0 }

// Empty reports no difference at all.
func (d *Diff) Empty() bool {
	return len(d.Regressions)+len(d.Fixes)+len(d.Changed)+len(d.Added)+len(d.Removed)+len(d.TargetsAdded)+len(d.TargetsRemoved)+len(d.Measures) == 0
}

func failing(s reports.Status) bool {
	return s == reports.Fail || s == reports.Error || s == reports.Waived
}

// Compare compares a (before) with b (after). It reads cleaned copies
// of both (reports.CleanCopy, like every writer of a run), so no string
// of the Diff carries an escape sequence or a control character other
// than tab and newline: WriteText and WriteHTML print it as it is.
func Compare(a, b *reports.Run, opt Options) *Diff {
	a, b = reports.CleanCopy(a), reports.CleanCopy(b)
	th := opt.Threshold
	if th <= 0 {
		th = DefaultThreshold
	}
	d := &Diff{A: a.ID, B: b.ID, VerdictA: a.Verdict(), VerdictB: b.Verdict(), Threshold: th}
	ta, tb := index(a), index(b)
	for _, t := range a.Targets {
		if _, ok := tb[t.ID]; !ok {
			d.TargetsRemoved = append(d.TargetsRemoved, t.ID)
		}
	}
	for _, t := range b.Targets {
		at, ok := ta[t.ID]
		if !ok {
			d.TargetsAdded = append(d.TargetsAdded, t.ID)
			continue
		}
		ra := map[string]*reports.Result{}
		for _, r := range at.Results {
			ra[r.Check] = r
		}
		seen := map[string]bool{}
		for _, r := range t.Results {
			seen[r.Check] = true
			old, ok := ra[r.Check]
			if !ok {
				d.Added = append(d.Added, Change{Target: t.ID, Check: r.Check, To: r.Status, ToReason: r.Reason})
				continue
			}
			measures(d, t.ID, old, r)
			if old.Status == r.Status {
				continue
			}
			c := Change{Target: t.ID, Check: r.Check, From: old.Status, To: r.Status, FromReason: old.Reason, ToReason: r.Reason}
			switch {
			case !failing(old.Status) && failing(r.Status):
				d.Regressions = append(d.Regressions, c)
			case failing(old.Status) && r.Status == reports.Pass:
				d.Fixes = append(d.Fixes, c)
			default:
				d.Changed = append(d.Changed, c)
			}
		}
		for _, r := range at.Results {
			if !seen[r.Check] {
				d.Removed = append(d.Removed, Change{Target: t.ID, Check: r.Check, From: r.Status, FromReason: r.Reason})
			}
		}
	}
	return d
}

func index(r *reports.Run) map[string]*reports.Target {
	m := map[string]*reports.Target{}
	for _, t := range r.Targets {
		m[t.ID] = t
	}
	return m
}

func measures(d *Diff, target string, a, b *reports.Result) {
	old := map[string]reports.Measurement{}
	for _, m := range a.Measures {
		old[m.Name] = m
	}
	for _, m := range b.Measures {
		o, ok := old[m.Name]
		if !ok {
			continue
		}
		var rel float64
		switch {
		case o.Value == m.Value:
			continue
		case o.Value == 0:
			rel = math.Inf(1)
			if m.Value < 0 {
				rel = math.Inf(-1)
			}
		default:
			rel = (m.Value - o.Value) / math.Abs(o.Value)
		}
		if math.Abs(rel) <= d.Threshold {
			continue
		}
		better := m.Better
		if better == "" {
			better = o.Better
		}
		worse := worseBeyond(better, o.Value, m.Value, d.Threshold)
		d.Measures = append(d.Measures, MeasureChange{Target: target, Check: b.Check, Name: m.Name, Unit: m.Unit, From: o.Value, To: m.Value, Rel: rel, Worse: worse, Better: better})
	}
	sort.SliceStable(d.Measures, func(i, j int) bool { return d.Measures[i].Worse && !d.Measures[j].Worse })
}

// worseBeyond says whether a measurement moved from a to b against better
// by more than th (relative): "higher" (throughput, IOPS) is worse when b
// < a by more than th·|a|; "lower" (latency, offset, drift, seconds)
// compares magnitudes, since a clock offset of -5 ms is as far off as
// +5 ms: worse when |b| > |a| by more than th·|a|. A move from 0 in the
// bad direction is always beyond. An unknown direction is never worse.
func worseBeyond(better string, a, b, th float64) bool {
	switch better {
	case "higher":
		return b < a && (a == 0 || (a-b)/math.Abs(a) > th)
	case "lower":
		a, b = math.Abs(a), math.Abs(b)
		return b > a && (a == 0 || (b-a)/a > th)
	}
	return false
}

// Direction is "worse" (Worse), "better" (the move went Better's way),
// or "" (direction unknown, or a "lower" value that changed sign with
// about the same magnitude).
func (m MeasureChange) Direction() string {
	switch {
	case m.Worse:
		return "worse"
	case worseBeyond(m.Better, m.To, m.From, 0):
		return "better"
	}
	return ""
}

// WorseMeasures are the measurements that moved against their direction
// by more than the threshold: what `report diff --fail-on measurement`
// fails on.
func (d *Diff) WorseMeasures() []MeasureChange {
	var out []MeasureChange
	for _, m := range d.Measures {
		if m.Worse {
			out = append(out, m)
		}
	}
	return out
}

func relString(r float64) string {
	if math.IsInf(r, 0) {
		return "from 0"
	}
	return fmt.Sprintf("%+.1f%%", r*100)
}

// WriteText renders d (from Compare: clean) for a terminal or CI log.
func WriteText(w io.Writer, d *Diff) error {
	var b strings.Builder
	fmt.Fprintf(&b, "virtcert diff %s -> %s\n", d.A, d.B)
	fmt.Fprintf(&b, "verdict: %s -> %s\n", d.VerdictA, d.VerdictB)
	fmt.Fprintf(&b, "%d regressions, %d fixes, %d changed, %d added, %d removed, %d measurements beyond %.0f%%\n",
		len(d.Regressions), len(d.Fixes), len(d.Changed), len(d.Added), len(d.Removed), len(d.Measures), d.Threshold*100)
	section := func(title string, cs []Change) {
		if len(cs) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s (%d)\n", title, len(cs))
		for _, x := range cs {
			from, to := string(x.From), string(x.To)
			if from == "" {
				from = "-"
			}
			if to == "" {
				to = "-"
			}
			fmt.Fprintf(&b, "  %-28s %-28s %s -> %s", x.Target, x.Check, from, to)
			if x.ToReason != "" {
				fmt.Fprintf(&b, "  (%s)", oneLine(x.ToReason))
			} else if x.FromReason != "" {
				fmt.Fprintf(&b, "  (was: %s)", oneLine(x.FromReason))
			}
			b.WriteByte('\n')
		}
	}
	section("REGRESSIONS", d.Regressions)
	section("FIXES", d.Fixes)
	section("CHANGED", d.Changed)
	section("ADDED CHECKS", d.Added)
	section("REMOVED CHECKS", d.Removed)
	for _, t := range d.TargetsAdded {
		fmt.Fprintf(&b, "\nTARGET ADDED   %s\n", t)
	}
	for _, t := range d.TargetsRemoved {
		fmt.Fprintf(&b, "\nTARGET REMOVED %s\n", t)
	}
	if len(d.Measures) > 0 {
		fmt.Fprintf(&b, "\nMEASUREMENTS changed beyond %.0f%% (%d)\n", d.Threshold*100, len(d.Measures))
		for _, m := range d.Measures {
			dir := ""
			if d := m.Direction(); d != "" {
				dir = ", " + d
			}
			fmt.Fprintf(&b, "  %-28s %-34s %g -> %g %s (%s%s)\n", m.Target, m.Name, m.From, m.To, m.Unit, relString(m.Rel), dir)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

var page = template.Must(template.New("diff").Funcs(template.FuncMap{
	"rel":   relString,
	"pct":   func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	"lower": func(s reports.Status) string { return strings.ToLower(string(s)) },
	"vc": func(v reports.Verdict) string {
		switch v {
		case reports.Certified:
			return "ok"
		case reports.NotCertified:
			return "bad"
		}
		return "inc"
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>virtcert diff {{.A}} → {{.B}}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;color:#1f2328;margin:0 auto;max-width:1100px;padding:20px 24px}
h1{font-size:20px;margin:0 0 6px}h2{font-size:16px;border-bottom:1px solid #d1d9e0;padding-bottom:4px;margin-top:26px}
.v{font-weight:700;border-radius:5px;padding:2px 8px;border:1.5px solid}.v.ok{color:#1a7f37;background:#dafbe1}.v.bad{color:#cf222e;background:#ffebe9}.v.inc{color:#bc4c00;background:#fff1e5}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #d1d9e0;vertical-align:top}th{background:#f6f8fa;font-size:12.5px}
.s{font-weight:700;font-size:11.5px;border-radius:4px;padding:1px 6px}.s.pass{color:#1a7f37;background:#dafbe1}.s.fail{color:#cf222e;background:#ffebe9}.s.error{color:#8250df;background:#fbefff}.s.skip{color:#6e7781;background:#eaeef2}.s.waived{color:#9a6700;background:#fff8c5}
.worse{color:#cf222e;font-weight:600}.better{color:#1a7f37}.sum{color:#59636e}code{font-size:12.5px}
</style></head><body>
<header><h1>virtcert diff <code>{{.A}}</code> → <code>{{.B}}</code></h1>
<p>verdict <span class="v {{vc .VerdictA}}">{{.VerdictA}}</span> → <span class="v {{vc .VerdictB}}">{{.VerdictB}}</span></p>
<p class="sum" id="summary">{{len .Regressions}} regressions · {{len .Fixes}} fixes · {{len .Changed}} changed · {{len .Added}} added · {{len .Removed}} removed · {{len .Measures}} measurements beyond {{pct .Threshold}}</p></header>
<main>
{{define "changes"}}<table><thead><tr><th scope="col">target</th><th scope="col">check</th><th scope="col">before</th><th scope="col">after</th><th scope="col">reason</th></tr></thead><tbody>
{{range .}}<tr><td>{{.Target}}</td><td><code>{{.Check}}</code></td><td>{{if .From}}<span class="s {{lower .From}}">{{.From}}</span>{{else}}—{{end}}</td><td>{{if .To}}<span class="s {{lower .To}}">{{.To}}</span>{{else}}—{{end}}</td><td>{{or .ToReason .FromReason}}</td></tr>
{{end}}</tbody></table>{{end}}
{{if .Regressions}}<section id="regressions"><h2>Regressions ({{len .Regressions}})</h2>{{template "changes" .Regressions}}</section>{{end}}
{{if .Fixes}}<section id="fixes"><h2>Fixes ({{len .Fixes}})</h2>{{template "changes" .Fixes}}</section>{{end}}
{{if .Changed}}<section id="changed"><h2>Other changes ({{len .Changed}})</h2>{{template "changes" .Changed}}</section>{{end}}
{{if .Added}}<section id="added"><h2>Checks added ({{len .Added}})</h2>{{template "changes" .Added}}</section>{{end}}
{{if .Removed}}<section id="removed"><h2>Checks removed ({{len .Removed}})</h2>{{template "changes" .Removed}}</section>{{end}}
{{if or .TargetsAdded .TargetsRemoved}}<section id="targets"><h2>Targets</h2><ul>{{range .TargetsAdded}}<li>added {{.}}</li>{{end}}{{range .TargetsRemoved}}<li>removed {{.}}</li>{{end}}</ul></section>{{end}}
{{if .Measures}}<section id="measures"><h2>Measurements changed beyond {{pct .Threshold}} ({{len .Measures}})</h2><table><thead><tr><th scope="col">target</th><th scope="col">check</th><th scope="col">measurement</th><th scope="col">before</th><th scope="col">after</th><th scope="col">change</th></tr></thead><tbody>
{{range .Measures}}<tr><td>{{.Target}}</td><td><code>{{.Check}}</code></td><td><code>{{.Name}}</code></td><td>{{.From}} {{.Unit}}</td><td>{{.To}} {{.Unit}}</td><td class="{{.Direction}}">{{rel .Rel}} {{.Direction}}</td></tr>
{{end}}</tbody></table></section>{{end}}
{{if .Empty}}<p id="nodiff">No difference.</p>{{end}}
</main></body></html>
`))

// WriteHTML renders d as one self-contained HTML page (no script, no
// external resource).
func WriteHTML(w io.Writer, d *Diff) error {
	return page.Execute(w, d)
}
