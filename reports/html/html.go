// Package html renders a reports.Run as one self-contained HTML
// certification report: inline CSS and inline SVG, no script and no
// external resource, so it opens from disk, prints to PDF and can be
// attached to a ticket as is.
//
// The page has: a header with a verdict per host × image (and a loud banner
// when any host was simulated); the waivers that applied or expired; the
// environment fingerprint side by side; the matrix (checks grouped by area
// × host/image columns, the same image on different hypervisors adjacent,
// cells that differ between hypervisors highlighted); charts (clock offset
// series per guest, throughput against the profile threshold); and the
// per-check evidence, failures first, expandable with <details>. Filtering
// by status, area and "differs" is CSS-only (radio buttons and :has()).
//
// Write renders a reports.CleanCopy of the run (ANSI and control
// characters removed from every string, once, before build) through
// html/template's contextual escaping, so a guest printing HTML or script
// cannot inject markup.
package html

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
)

//go:embed report.html.tmpl
var pageSrc string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"lower": strings.ToLower,
	"inc":   func(i int) int { return i + 1 },
}).Parse(pageSrc))

// Options tune the page.
type Options struct {
	// Title overrides the page title.
	Title string
	// Generated is printed as the generation time; zero omits it (keeps
	// golden output stable).
	Generated time.Time
}

// Write renders run to w.
func Write(w io.Writer, run *reports.Run, opt Options) error {
	v := build(reports.CleanCopy(run), opt)
	// Render to a buffer first: a template error must not leave half a
	// certificate on disk.
	var b bytes.Buffer
	b.Grow(4096 + 700*v.nResults)
	if err := page.Execute(&b, v); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

type view struct {
	Title, RunID, Version, Plan, PlanHash, Started, Finished, Generated string
	Build                                                               string // version, revision, dirty, Go (reports.Build.String)
	Complete                                                            bool
	Verdict, VerdictClass                                               string
	Shards                                                              []string
	ShardOf                                                             string
	Simulated                                                           []simHost
	SimGuests, UnknownGuests                                            []simGuest // declared stand-ins; failed identity queries
	Unverified                                                          []string   // banners, drivers.TLSBanner
	UnverifiedShards                                                    string     // Run.UnverifiedBanner
	Cards                                                               []card
	Cols                                                                []col
	Images                                                              []imgGroup
	Areas                                                               []areaView
	Fingerprint                                                         []fpRow
	Waivers                                                             []waiverView
	Evidence                                                            []evView
	SeriesCharts                                                        []seriesChart
	BarCharts                                                           []barChart
	StatusFilters                                                       []statusFilter
	FilterCSS                                                           template.CSS
	Diffs                                                               int
	MatrixHTML, EvidenceHTML                                            template.HTML
	nResults                                                            int
}

type simHost struct{ Host, Notes string }

// simGuest is a guest that declared itself a stand-in (Text: what it
// declared), or whose identity query failed (Text: why).
type simGuest struct{ Target, Text string }

type card struct {
	Target, Host, Image, Verdict, VerdictClass, Nature, Hypervisor, Error string
	GuestSimulated                                                        bool
	Note                                                                  string // why a target with no FAIL is NOT CERTIFIED
	Counts                                                                []countView
}

type countView struct {
	Status, Class string
	N             int
}

type col struct {
	Idx                                 int
	ID, Host, Image, Nature, Hypervisor string
	First                               bool // first column of its image group
	GuestSimulated                      bool
}

type imgGroup struct {
	Image string
	Span  int
}

type areaView struct {
	Name, Classes string
	Rows          []rowView
}

type rowView struct {
	Check, Title, Classes string
	Diff                  bool
	Cells                 []cellView
}

type cellView struct {
	Present             bool
	Status, Class, Link string
	Label               string // accessible label
	Diff, First         bool
	Note                string // e.g. the key measurement
}

type fpRow struct {
	Section, Label string
	Values         []fpVal
	Differs        bool
}

type fpVal struct {
	Text, Class string
}

type waiverView struct {
	Check, Host, Image, Justification, Tracker, Expires, State string
	Expired                                                    bool
	Covers                                                     []string
}

type evView struct {
	Anchor, Status, Class, Classes, Check, Title, Target, Area, Reason string
	Open                                                               bool
	Duration                                                           string
	Retries, Priority                                                  int
	Orig, OrigReason                                                   string
	Waiver                                                             *waiverView
	Notes                                                              []string
	Steps                                                              []stepView
	Measures                                                           []measureView
	// Artifacts are the target's files (diagnostics, console), shown
	// next to a failed check, relative to the run directory.
	Artifacts []string
	col       int
}

type stepView struct {
	Step, Command, Exit, Output, Expected, Actual, Tolerance, Profile, OK, OKClass, Duration string
}

type measureView struct {
	Name, Value, Threshold, Better, Source, Class string
	Samples                                       int
}

type statusFilter struct {
	Status, Class string
	N             int
}

func statusClass(s reports.Status) string { return "s-" + cssName(s) }

// cssName is a status as a CSS class suffix: "pass", "n-a".
func cssName(s reports.Status) string {
	return strings.ReplaceAll(strings.ToLower(string(s)), "/", "-")
}

// filterClass marks rows and evidence for the CSS filter (kept apart from
// the s-* badge colours).
func filterClass(s reports.Status) string { return "k-" + cssName(s) }

func verdictClass(v reports.Verdict) string {
	switch v {
	case reports.Certified:
		return "v-ok"
	case reports.NotCertified:
		return "v-bad"
	}
	return "v-inc"
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func dur(d time.Duration) string { return reports.HumanDuration(d) }

func build(run *reports.Run, opt Options) *view {
	v := &view{
		Title: opt.Title, RunID: run.ID, Version: run.Version, Build: run.Build.String(), Plan: run.PlanName, PlanHash: run.PlanHash,
		Started: ts(run.Started), Finished: ts(run.Finished), Complete: run.Complete, Generated: ts(opt.Generated),
	}
	if v.Title == "" {
		v.Title = "virtcert certification report"
	}
	rv := run.Verdict()
	v.Verdict, v.VerdictClass = string(rv), verdictClass(rv)
	for _, s := range run.Shards {
		v.Shards = append(v.Shards, s)
	}
	if len(run.Sources) > 0 {
		v.Shards = nil
		for _, s := range run.Sources {
			v.Shards = append(v.Shards, s.Text())
		}
	}
	v.UnverifiedShards = run.UnverifiedBanner()
	if run.Shard != nil {
		v.ShardOf = fmt.Sprintf("%s: %d of the plan's %d targets (this report shows only them; `virtcert report merge` joins the shards)", run.Shard, len(run.Targets), len(run.Shard.Matrix))
	}
	targets := columnOrder(run.Targets)
	for i, t := range targets {
		v.addColumn(run, targets, i, t)
	}
	ix := indexResults(targets)
	v.nResults = ix.n
	v.matrix(targets, ix)
	v.evidenceList(targets, ix)
	v.Fingerprint = fingerprint(run, targets)
	for _, w := range run.Waivers {
		wv := waiverNote(&w)
		v.Waivers = append(v.Waivers, *wv)
	}
	v.SeriesCharts, v.BarCharts = charts(targets)
	v.MatrixHTML = matrixHTML(v)
	v.EvidenceHTML = evidenceHTML(v.Evidence)
	return v
}

// columnOrder groups the targets by comparison group (the image, or the
// plan's compare_as when one OS comes as a qcow2 and a VHDX) so that the
// same guest OS on different hypervisors sits side by side; within a
// group, plan order.
func columnOrder(ts []*reports.Target) []*reports.Target {
	targets := append([]*reports.Target(nil), ts...)
	imgOrder := map[string]int{}
	for _, t := range targets {
		if _, ok := imgOrder[t.Group()]; !ok {
			imgOrder[t.Group()] = len(imgOrder)
		}
	}
	sort.SliceStable(targets, func(i, j int) bool { return imgOrder[targets[i].Group()] < imgOrder[targets[j].Group()] })
	return targets
}

// addColumn adds target i's column, its image group, its SIMULATED and
// TLS banners and its verdict card.
func (v *view) addColumn(run *reports.Run, targets []*reports.Target, i int, t *reports.Target) {
	first := i == 0 || targets[i-1].Group() != t.Group()
	v.Cols = append(v.Cols, col{Idx: i, ID: t.ID, Host: t.Host, Image: t.Image, Nature: t.HostInfo.Nature, Hypervisor: t.HostInfo.Hypervisor, First: first,
		GuestSimulated: t.Guest.Simulated()})
	v.addGuestNature(t)
	if first {
		v.Images = append(v.Images, imgGroup{Image: t.Group(), Span: 1})
	} else {
		v.Images[len(v.Images)-1].Span++
	}
	if t.HostInfo.Nature == drivers.NatureSimulated {
		dup := false
		for _, s := range v.Simulated {
			dup = dup || s.Host == t.Host
		}
		if !dup {
			v.Simulated = append(v.Simulated, simHost{Host: t.Host, Notes: strings.Join(t.HostInfo.Notes, "; ")})
		}
	}
	if t.HostInfo.TLSUnverified {
		b := drivers.TLSBanner(t.Host)
		if !slices.Contains(v.Unverified, b) {
			v.Unverified = append(v.Unverified, b)
		}
	}
	tv := t.Verdict(run.Complete)
	cd := card{Target: t.ID, Host: t.Host, Image: t.Image, Verdict: string(tv), VerdictClass: verdictClass(tv),
		Nature: cmpOr(string(t.HostInfo.Nature), "unknown"), Hypervisor: hypervisorLine(t), Error: t.Error, GuestSimulated: t.Guest.Simulated()}
	if t.NothingTested(run.Complete) {
		cd.Note = t.Why(run.Complete)
	}
	cnt := t.Count()
	for _, s := range reports.Statuses {
		cd.Counts = append(cd.Counts, countView{Status: string(s), Class: statusClass(s), N: cnt[s]})
	}
	v.Cards = append(v.Cards, cd)
}

// hypervisorLine is a card's hypervisor line, never empty: the host's
// hypervisor, else its driver, else that the host was not reached.
func hypervisorLine(t *reports.Target) string {
	switch {
	case t.HostInfo.Hypervisor != "":
		return t.HostInfo.Hypervisor
	case t.HostInfo.Driver != "":
		return t.HostInfo.Driver + " (hypervisor not reported)"
	}
	return "hypervisor unknown (host not reached)"
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// resultIndex is the run's results by column and check: checks grouped
// by area, in order of first appearance.
type resultIndex struct {
	areas        []string
	areaIdx      map[string]int
	checksByArea map[string][]string
	titles       map[string]string
	checkIdx     map[string]int
	cell         []map[string]*reports.Result // per column, by check
	n            int
}

func indexResults(targets []*reports.Target) *resultIndex {
	ix := &resultIndex{areaIdx: map[string]int{}, checksByArea: map[string][]string{}, titles: map[string]string{},
		checkIdx: map[string]int{}, cell: make([]map[string]*reports.Result, len(targets))}
	seen := map[string]bool{}
	for ti, t := range targets {
		ix.cell[ti] = map[string]*reports.Result{}
		for _, r := range t.Results {
			ix.n++
			ix.cell[ti][r.Check] = r
			if _, ok := ix.areaIdx[r.Area]; !ok {
				ix.areaIdx[r.Area] = len(ix.areas)
				ix.areas = append(ix.areas, r.Area)
			}
			if !seen[r.Check] {
				seen[r.Check] = true
				ix.checkIdx[r.Check] = len(ix.checkIdx)
				ix.checksByArea[r.Area] = append(ix.checksByArea[r.Area], r.Check)
				ix.titles[r.Check] = r.Title
			}
		}
	}
	return ix
}

// anchor names a result's evidence. Anchors use indices, not check IDs:
// short, and always valid.
func (ix *resultIndex) anchor(ti int, check string) string {
	return fmt.Sprintf("e%d-%d", ti, ix.checkIdx[check])
}

// matrix fills the areas and their rows, the status filters and the
// filter CSS.
func (v *view) matrix(targets []*reports.Target, ix *resultIndex) {
	statusTotals := reports.Counts{}
	for ai, a := range ix.areas {
		av := areaView{Name: a}
		areaSt := map[string]bool{}
		areaDiff := false
		for _, ck := range ix.checksByArea[a] {
			row := v.matrixRow(targets, ix, ck, statusTotals)
			rowSt := rowStatuses(row)
			maps.Copy(areaSt, rowSt)
			if row.Diff {
				v.Diffs++
				areaDiff = true
			}
			row.Classes = classes(rowSt, ai, row.Diff)
			av.Rows = append(av.Rows, row)
		}
		av.Classes = classes(areaSt, ai, areaDiff)
		v.Areas = append(v.Areas, av)
	}
	for _, s := range reports.Statuses {
		v.StatusFilters = append(v.StatusFilters, statusFilter{Status: string(s), Class: statusClass(s), N: statusTotals[s]})
	}
	v.FilterCSS = filterCSS(len(ix.areas))
}

// rowStatuses is the filter classes of the statuses in row.
func rowStatuses(row rowView) map[string]bool {
	st := map[string]bool{}
	for _, cv := range row.Cells {
		if cv.Present {
			st[filterClass(reports.Status(cv.Status))] = true
		}
	}
	return st
}

// matrixRow is check ck across the columns. A cell differs when the same
// guest OS got another status on another host: the cross-hypervisor
// question.
func (v *view) matrixRow(targets []*reports.Target, ix *resultIndex, ck string, totals reports.Counts) rowView {
	row := rowView{Check: ck, Title: ix.titles[ck]}
	byImage := map[string]map[reports.Status]bool{}
	for ti, t := range targets {
		if r := ix.cell[ti][ck]; r != nil {
			if byImage[t.Group()] == nil {
				byImage[t.Group()] = map[reports.Status]bool{}
			}
			byImage[t.Group()][r.Status] = true
		}
	}
	for ti, t := range targets {
		r := ix.cell[ti][ck]
		cv := cellView{First: v.Cols[ti].First}
		if r == nil {
			cv.Label = fmt.Sprintf("%s on %s: not run", ck, t.ID)
			row.Cells = append(row.Cells, cv)
			continue
		}
		totals[r.Status]++
		cv.Present, cv.Status, cv.Class, cv.Link = true, string(r.Status), statusClass(r.Status), "#"+ix.anchor(ti, r.Check)
		cv.Diff = len(byImage[t.Group()]) > 1
		if cv.Diff {
			row.Diff = true
		}
		for _, m := range r.Measures {
			cv.Note = reports.Human(m.Value, m.Unit)
			break
		}
		cv.Label = fmt.Sprintf("%s on %s: %s", ck, t.ID, r.Status)
		if cv.Diff {
			cv.Label += ", differs between hypervisors"
		}
		row.Cells = append(row.Cells, cv)
	}
	return row
}

// evidenceList fills the evidence: failures first, then by area, check
// and column.
func (v *view) evidenceList(targets []*reports.Target, ix *resultIndex) {
	for ti, t := range targets {
		for _, r := range t.Results {
			v.Evidence = append(v.Evidence, evidence(r, t, ti, ix.areaIdx[r.Area], ix.anchor(ti, r.Check)))
		}
	}
	sort.SliceStable(v.Evidence, func(i, j int) bool {
		a, b := v.Evidence[i], v.Evidence[j]
		ra, rb := reports.StatusRank(reports.Status(a.Status)), reports.StatusRank(reports.Status(b.Status))
		if ra != rb {
			return ra < rb
		}
		if ix.areaIdx[a.Area] != ix.areaIdx[b.Area] {
			return ix.areaIdx[a.Area] < ix.areaIdx[b.Area]
		}
		if ix.checkIdx[a.Check] != ix.checkIdx[b.Check] {
			return ix.checkIdx[a.Check] < ix.checkIdx[b.Check]
		}
		return a.col < b.col
	})
}

// classes builds the filter classes of a matrix row or area: one per
// status present, the area index and "d" when it differs.
func classes(st map[string]bool, area int, diff bool) string {
	var parts []string
	for _, s := range reports.Statuses {
		if st[filterClass(s)] {
			parts = append(parts, filterClass(s))
		}
	}
	parts = append(parts, fmt.Sprintf("a%d", area))
	if diff {
		parts = append(parts, "d")
	}
	return strings.Join(parts, " ")
}

// filterCSS generates the CSS-only filter rules. Only indices and our own
// status names go into the CSS: never a string from the run.
func filterCSS(areas int) template.CSS {
	var b strings.Builder
	for _, s := range reports.Statuses {
		fmt.Fprintf(&b, "body:has(#f-%s:checked) .f:not(.%s){display:none}\n", statusClass(s), filterClass(s))
	}
	for i := 0; i < areas; i++ {
		fmt.Fprintf(&b, "body:has(#fa-%d:checked) .f:not(.a%d){display:none}\n", i, i)
	}
	b.WriteString("body:has(#f-diff:checked) .f:not(.d){display:none}\n")
	return template.CSS(b.String())
}

func num(f float64) string {
	s := fmt.Sprintf("%.4g", f)
	return s
}

func waiverNote(w *reports.WaiverNote) *waiverView {
	wv := &waiverView{Check: w.Check, Host: w.Host, Image: w.Image, Justification: w.Justification, Tracker: w.Tracker, Expired: w.Expired}
	if !w.Expires.IsZero() {
		wv.Expires = w.Expires.UTC().Format("2006-01-02")
	}
	wv.State = "applied"
	if w.Expired {
		wv.State = "expired: no longer applies"
	}
	for _, cv := range w.Covers {
		wv.Covers = append(wv.Covers, cv)
	}
	return wv
}

func evidence(r *reports.Result, t *reports.Target, ti, ai int, anchor string) evView {
	e := evView{Anchor: anchor, Status: string(r.Status), Class: statusClass(r.Status), Check: r.Check, Title: r.Title, Target: t.ID,
		Area: r.Area, Reason: r.Reason, Duration: dur(r.Duration), Retries: r.Retries, Priority: r.Priority,
		Orig: string(r.OriginalStatus), OrigReason: r.OriginalReason}
	e.col = ti
	e.Open = r.Status == reports.Fail || r.Status == reports.Error || r.Status == reports.Waived
	if e.Open {
		e.Artifacts = t.Artifacts
	}
	e.Classes = fmt.Sprintf("%s a%d", filterClass(r.Status), ai)
	if r.Waiver != nil {
		e.Waiver = waiverNote(r.Waiver)
	}
	for _, n := range r.Notes {
		e.Notes = append(e.Notes, n)
	}
	for _, s := range r.Evidence {
		sv := stepView{Step: s.Step, Command: s.Command, Output: s.Output, Expected: s.Expected, Actual: s.Actual,
			Tolerance: s.Tolerance, Profile: s.Profile}
		if s.Exit != nil {
			sv.Exit = fmt.Sprint(*s.Exit)
		}
		if s.OK != nil {
			sv.OK, sv.OKClass = "not as expected", "s-fail"
			if *s.OK {
				sv.OK, sv.OKClass = "ok", "s-pass"
			}
		}
		if s.Duration > 0 {
			sv.Duration = dur(s.Duration)
		}
		if s.Gathered != "" {
			sv.Duration = s.Gathered // where the output came from, in place of its own time
		}
		e.Steps = append(e.Steps, sv)
	}
	for _, m := range r.Measures {
		mv := measureView{Name: m.Name, Value: reports.Human(m.Value, m.Unit), Better: m.Better, Source: m.Source, Samples: len(m.Series)}
		if m.Threshold != nil {
			mv.Threshold = reports.Human(*m.Threshold, m.Unit)
			mv.Class = "s-pass"
			if !passes(m) {
				mv.Class = "s-fail"
			}
		}
		e.Measures = append(e.Measures, mv)
	}
	return e
}

func passes(m reports.Measurement) bool {
	if m.Threshold == nil {
		return true
	}
	if m.Better == "lower" {
		return m.Value <= *m.Threshold
	}
	return m.Value >= *m.Threshold
}

// addGuestNature lists t's guest in the SIMULATED guest banner when it
// declared itself a stand-in, or in the unknown-identity one when the
// query failed.
func (v *view) addGuestNature(t *reports.Target) {
	switch {
	case t.Guest.Simulated():
		v.SimGuests = append(v.SimGuests, simGuest{Target: t.ID, Text: t.Guest.Identity})
	case t.Guest.IdentityError != "":
		v.UnknownGuests = append(v.UnknownGuests, simGuest{Target: t.ID, Text: t.Guest.IdentityError})
	}
}

func fingerprint(run *reports.Run, ts []*reports.Target) []fpRow {
	var rows []fpRow
	add := func(section, label string, get func(t *reports.Target) string) {
		row := fpRow{Section: section, Label: label}
		distinct := map[string]bool{}
		any := false
		for _, t := range ts {
			val := get(t)
			fv := fpVal{Text: val}
			if label == "nature" || label == "guest nature" {
				fv.Class = "n-" + strings.ToLower(val)
			}
			if val != "" {
				any = true
				distinct[val] = true
			}
			row.Values = append(row.Values, fv)
		}
		row.Differs = len(distinct) > 1
		if any {
			rows = append(rows, row)
		}
	}
	add("host", "host", func(t *reports.Target) string { return t.Host })
	add("host", "nature", func(t *reports.Target) string { return t.HostInfo.Nature })
	add("host", "driver", func(t *reports.Target) string { return t.HostInfo.Driver })
	add("host", "hypervisor", func(t *reports.Target) string { return t.HostInfo.Hypervisor })
	add("host", "acceleration", func(t *reports.Target) string { return t.HostInfo.Accel })
	add("host", "host name", func(t *reports.Target) string { return t.HostInfo.Name })
	add("host", "host OS and build", func(t *reports.Target) string { return t.HostInfo.OS })
	for _, k := range unionKeys(ts, func(t *reports.Target) map[string]string { return t.HostInfo.Versions }) {
		add("host", k+" version", func(t *reports.Target) string { return t.HostInfo.Versions[k] })
	}
	add("host", "notes", func(t *reports.Target) string { return strings.Join(t.HostInfo.Notes, "; ") })
	add("guest", "image", func(t *reports.Target) string { return t.Image })
	add("guest", "image sha256", func(t *reports.Target) string { return t.Guest.ImageSHA256 })
	add("guest", "image path", func(t *reports.Target) string { return t.Guest.ImagePath })
	add("guest", "guest nature", func(t *reports.Target) string { return t.Guest.Nature })
	add("guest", "identity", func(t *reports.Target) string { return t.Guest.Identity })
	add("guest", "identity query", func(t *reports.Target) string { return t.Guest.IdentityError })
	add("guest", "distribution", func(t *reports.Target) string { return t.Guest.Distro })
	add("guest", "kernel", func(t *reports.Target) string { return t.Guest.Kernel })
	add("guest", "guest name", func(t *reports.Target) string { return t.Guest.Name })
	add("guest", "address", func(t *reports.Target) string { return t.Guest.Address })
	for _, k := range unionKeys(ts, func(t *reports.Target) map[string]string { return t.Guest.Config }) {
		add("guest", "VM "+k, func(t *reports.Target) string { return t.Guest.Config[k] })
	}
	add("guest", "boot time", func(t *reports.Target) string {
		if t.Guest.BootSeconds == 0 {
			return ""
		}
		return fmt.Sprintf("%.1f s", t.Guest.BootSeconds)
	})
	add("run", "profile", func(t *reports.Target) string { return t.Profile })
	add("run", "started", func(t *reports.Target) string { return ts0(t.Started) })
	add("run", "finished", func(t *reports.Target) string { return ts0(t.Finished) })
	add("run", "target error", func(t *reports.Target) string { return t.Error })
	add("run", "artifacts", func(t *reports.Target) string { return strings.Join(t.Artifacts, " ") })
	return rows
}

func ts0(t time.Time) string { return ts(t) }

func unionKeys(ts []*reports.Target, m func(*reports.Target) map[string]string) []string {
	set := map[string]bool{}
	for _, t := range ts {
		for k := range m(t) {
			set[k] = true
		}
	}
	var ks []string
	for k := range set {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
