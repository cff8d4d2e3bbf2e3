package html

import (
	"fmt"
	"math"
	"strings"

	"github.com/virtcert/virtcert/reports"
)

// Charts are hand-written inline SVG (no chart library: the popular Go
// ones are archived or load scripts from a CDN). Geometry is computed here;
// the template only prints numbers and escaped labels.

type seriesChart struct {
	ID, Name, Unit, Desc string
	W, H, PL, PR, PT, PB float64
	PlotW, PlotH         float64
	Lines                []line
	Thresholds           []hline
	YTicks, XTicks       []tick
	Zero                 *hline
}

type line struct {
	Label, Class, Points string
}

type hline struct {
	Y     float64
	Label string
}

type tick struct {
	Pos   float64
	Label string
}

type barChart struct {
	ID, Name, Unit, Desc string
	W, H, PL, PR, PT     float64
	Bars                 []bar
	ThresholdX           float64
	ThresholdLabel       string
	Top, Bottom          float64 // vertical extent of grid and threshold lines
	XTicks               []tick
}

type bar struct {
	Label, Value, Class string
	Y, W, H, TextX      float64
}

// charts groups measurements by name across targets: one line chart per
// measurement that has a series (clock offset over time, one line per
// guest), and one bar chart per measurement that has a threshold and no
// series (throughput against the profile minimum).
func charts(targets []*reports.Target) ([]seriesChart, []barChart) {
	type entry struct {
		target string
		col    int
		m      reports.Measurement
	}
	var order []string
	by := map[string][]entry{}
	for ti, t := range targets {
		for _, r := range t.Results {
			for _, m := range r.Measures {
				m = finite(m)
				if len(m.Series) == 0 && m.Threshold == nil {
					continue
				}
				if len(m.Series) == 0 && !isFinite(m.Value) {
					continue
				}
				if _, ok := by[m.Name]; !ok {
					order = append(order, m.Name)
				}
				by[m.Name] = append(by[m.Name], entry{t.ID, ti, m})
			}
		}
	}
	var sc []seriesChart
	var bc []barChart
	// A synthetic run can have hundreds of measurement names; charts are
	// for people, so keep the first few of each kind.
	const maxCharts = 12
	for i, name := range order {
		es := by[name]
		hasSeries := false
		for _, e := range es {
			hasSeries = hasSeries || len(e.m.Series) > 0
		}
		if hasSeries && len(sc) < maxCharts {
			var ss []namedSeries
			var thr *float64
			for _, e := range es {
				if len(e.m.Series) > 0 {
					ss = append(ss, namedSeries{label: e.target, col: e.col, pts: e.m.Series})
				}
				if e.m.Threshold != nil {
					thr = e.m.Threshold
				}
			}
			sc = append(sc, lineChart(fmt.Sprintf("chart-%d", i), name, es[0].m.Unit, ss, thr))
		} else if !hasSeries && len(bc) < maxCharts {
			var bs []barIn
			for _, e := range es {
				bs = append(bs, barIn{label: e.target, v: e.m.Value, thr: e.m.Threshold, pass: passes(e.m)})
			}
			bc = append(bc, barsChart(fmt.Sprintf("chart-%d", i), name, es[0].m.Unit, es[0].m.Better, bs))
		}
	}
	return sc, bc
}

func isFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// finite drops what a chart cannot draw: non-finite samples and
// thresholds. The evidence table still shows the raw values.
func finite(m reports.Measurement) reports.Measurement {
	if m.Threshold != nil && !isFinite(*m.Threshold) {
		m.Threshold = nil
	}
	var pts []reports.Point
	for _, p := range m.Series {
		if isFinite(p.T) && isFinite(p.V) {
			pts = append(pts, p)
		}
	}
	m.Series = pts
	return m
}

type namedSeries struct {
	label string
	col   int
	pts   []reports.Point
}

func lineChart(id, name, unit string, ss []namedSeries, thr *float64) seriesChart {
	ch := seriesChart{ID: id, Name: name, Unit: unit, W: 640, H: 240, PL: 70, PR: 16, PT: 14, PB: 40}
	ch.PlotW, ch.PlotH = ch.W-ch.PL-ch.PR, ch.H-ch.PT-ch.PB
	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymin, ymax := math.Inf(1), math.Inf(-1)
	neg := false
	for _, s := range ss {
		for _, p := range s.pts {
			xmin, xmax = math.Min(xmin, p.T), math.Max(xmax, p.T)
			ymin, ymax = math.Min(ymin, p.V), math.Max(ymax, p.V)
			neg = neg || p.V < 0
		}
	}
	var thrs []float64
	if thr != nil {
		thrs = append(thrs, *thr)
		if neg && *thr > 0 {
			thrs = append(thrs, -*thr)
		}
		for _, t := range thrs {
			ymin, ymax = math.Min(ymin, t), math.Max(ymax, t)
		}
	}
	if ymin > 0 {
		ymin = 0
	}
	if xmax <= xmin {
		xmax = xmin + 1
	}
	if ymax <= ymin {
		ymax = ymin + 1
	}
	yt := niceTicks(ymin, ymax, 5)
	ymin, ymax = math.Min(ymin, yt[0]), math.Max(ymax, yt[len(yt)-1])
	X := func(t float64) float64 { return ch.PL + (t-xmin)/(xmax-xmin)*ch.PlotW }
	Y := func(v float64) float64 { return ch.PT + (ymax-v)/(ymax-ymin)*ch.PlotH }
	for _, v := range yt {
		ch.YTicks = append(ch.YTicks, tick{Pos: r1(Y(v)), Label: num(v)})
	}
	for _, t := range niceTicks(xmin, xmax, 6) {
		if t >= xmin && t <= xmax {
			ch.XTicks = append(ch.XTicks, tick{Pos: r1(X(t)), Label: num(t)})
		}
	}
	if ymin < 0 && ymax > 0 {
		ch.Zero = &hline{Y: r1(Y(0))}
	}
	for _, t := range thrs {
		ch.Thresholds = append(ch.Thresholds, hline{Y: r1(Y(t)), Label: "limit " + num(t) + " " + unit})
	}
	var desc []string
	for _, s := range ss {
		var b strings.Builder
		lo, hi := math.Inf(1), math.Inf(-1)
		for i, p := range s.pts {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%.1f,%.1f", X(p.T), Y(p.V))
			lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
		}
		ch.Lines = append(ch.Lines, line{Label: s.label, Class: fmt.Sprintf("c%d", s.col%8), Points: b.String()})
		desc = append(desc, fmt.Sprintf("%s: %d samples from %s to %s %s", s.label, len(s.pts), num(lo), num(hi), unit))
	}
	if thr != nil {
		desc = append(desc, fmt.Sprintf("limit %s %s", num(*thr), unit))
	}
	ch.Desc = strings.Join(desc, "; ")
	return ch
}

type barIn struct {
	label string
	v     float64
	thr   *float64
	pass  bool
}

func barsChart(id, name, unit, better string, bs []barIn) barChart {
	ch := barChart{ID: id, Name: name, Unit: unit, W: 640, PL: 190, PR: 70, PT: 24}
	rowH := 28.0
	ch.H = ch.PT + rowH*float64(len(bs)) + 30
	ch.Top, ch.Bottom = ch.PT-4, ch.H-24
	max := 0.0
	var thr *float64
	for _, b := range bs {
		max = math.Max(max, b.v)
		if b.thr != nil {
			thr = b.thr
			max = math.Max(max, *b.thr)
		}
	}
	if max <= 0 {
		max = 1
	}
	xt := niceTicks(0, max, 5)
	max = math.Max(max, xt[len(xt)-1])
	plotW := ch.W - ch.PL - ch.PR
	X := func(v float64) float64 { return ch.PL + v/max*plotW }
	for _, t := range xt {
		ch.XTicks = append(ch.XTicks, tick{Pos: r1(X(t)), Label: num(t)})
	}
	var desc []string
	for i, b := range bs {
		cls := "bar-ok"
		if !b.pass {
			cls = "bar-bad"
		}
		w := math.Max(0, X(b.v)-ch.PL)
		ch.Bars = append(ch.Bars, bar{Label: b.label, Value: reports.Human(b.v, unit), Class: cls, Y: r1(ch.PT + rowH*float64(i) + 4), W: r1(w), H: rowH - 8, TextX: r1(ch.PL + w + 6)})
		verdict := "meets"
		if !b.pass {
			verdict = "misses"
		}
		desc = append(desc, fmt.Sprintf("%s: %s %s (%s the limit)", b.label, num(b.v), unit, verdict))
	}
	if thr != nil {
		ch.ThresholdX = r1(X(*thr))
		ch.ThresholdLabel = fmt.Sprintf("limit %s %s (%s is better)", num(*thr), unit, better)
	}
	ch.Desc = strings.Join(desc, "; ")
	return ch
}

func r1(f float64) float64 { return math.Round(f*10) / 10 }

// niceTicks returns about n round tick values covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	span := hi - lo
	if span <= 0 || math.IsInf(span, 0) || math.IsNaN(span) {
		return []float64{lo}
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	start := math.Floor(lo/step) * step
	var out []float64
	for v := start; v <= hi+step*1e-9 || len(out) < 2; v += step {
		out = append(out, math.Round(v/step)*step)
		if len(out) > 50 {
			break
		}
	}
	if out[len(out)-1] < hi {
		out = append(out, out[len(out)-1]+step)
	}
	return out
}
