package html

import (
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"path"
	"strings"
)

// The matrix rows and the evidence list are the two loops that grow with
// the number of results. Rendering them through html/template costs about
// 40 reflective template actions per result, which made a 10,000-result
// report take most of its 1 s budget on a loaded CI machine. They are
// therefore written here directly, with html/template's own escaper
// (HTMLEscapeString: & < > " ' and NUL) applied to every value. Values are
// only ever placed in element text or in double-quoted attributes, where
// that escaping is sufficient; the URLs are a waiver's tracker (checked
// for an http(s) scheme before it becomes an href) and a failed check's
// artifacts (only clean relative paths under artifacts/, escaped). The Chromium
// and hostile-output tests cover this code.

var esc = template.HTMLEscapeString

// safeURL returns u when it is an absolute http(s) URL, else "".
func safeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	return u
}

func writeTracker(b *strings.Builder, tracker string) {
	if tracker == "" {
		return
	}
	if u := safeURL(tracker); u != "" {
		fmt.Fprintf(b, ` (<a href="%s">%s</a>)`, esc(u), esc(tracker))
		return
	}
	fmt.Fprintf(b, " (%s)", esc(tracker))
}

// matrixHTML renders the matrix's <tbody> elements.
func matrixHTML(v *view) template.HTML {
	var b strings.Builder
	b.Grow(len(v.Cols) * 120 * (v.nResults/max(1, len(v.Cols)) + 1))
	span := len(v.Cols) + 1
	for _, a := range v.Areas {
		fmt.Fprintf(&b, "<tbody class=\"f %s\">\n<tr><th scope=\"rowgroup\" class=\"area\" colspan=\"%d\">%s</th></tr>\n", esc(a.Classes), span, esc(a.Name))
		for _, r := range a.Rows {
			fmt.Fprintf(&b, `<tr class="f %s" data-check="%s"><th scope="row" class="chk"><code>%s</code>`, esc(r.Classes), esc(r.Check), esc(r.Check))
			if r.Title != r.Check && r.Title != "" {
				fmt.Fprintf(&b, `<span class="t">%s</span>`, esc(r.Title))
			}
			b.WriteString("</th>")
			for _, c := range r.Cells {
				b.WriteString("<td")
				if c.First || c.Diff || !c.Present {
					var cls []string
					if c.First {
						cls = append(cls, "first")
					}
					if c.Diff {
						cls = append(cls, "diff")
					}
					if !c.Present {
						cls = append(cls, "na")
					}
					fmt.Fprintf(&b, ` class="%s"`, strings.Join(cls, " "))
				}
				if !c.Present {
					b.WriteString(`><span title="not run">—</span><span class="sr">not run</span></td>`)
					continue
				}
				fmt.Fprintf(&b, ` data-status="%s"><a class="cell %s" href="%s">%s</a>`, esc(c.Status), esc(c.Class), esc(c.Link), esc(c.Status))
				if c.Diff {
					b.WriteString(`<span class="sr"> differs between hypervisors</span>`)
				}
				if c.Note != "" {
					fmt.Fprintf(&b, `<span class="m">%s</span>`, esc(c.Note))
				}
				b.WriteString("</td>")
			}
			b.WriteString("</tr>\n")
		}
		b.WriteString("</tbody>\n")
	}
	return template.HTML(b.String())
}

// evidenceHTML renders the evidence list: one <details> per result.
func evidenceHTML(evs []evView) template.HTML {
	var b strings.Builder
	b.Grow(len(evs) * 800)
	for i := range evs {
		e := &evs[i]
		fmt.Fprintf(&b, `<details class="ev f %s" id="%s"`, esc(e.Classes), esc(e.Anchor))
		if e.Open {
			b.WriteString(" open")
		}
		fmt.Fprintf(&b, ">\n<summary><span class=\"badge %s\">%s</span> <code>%s</code> <span class=\"tg\">on %s</span>", esc(e.Class), esc(e.Status), esc(e.Check), esc(e.Target))
		if e.Reason != "" {
			fmt.Fprintf(&b, `<span class="why">%s</span>`, esc(e.Reason))
		}
		b.WriteString("</summary>\n<div class=\"body\"><p class=\"kv\">")
		if e.Title != e.Check && e.Title != "" {
			fmt.Fprintf(&b, "%s · ", esc(e.Title))
		}
		fmt.Fprintf(&b, "priority %d · %s · %d retries</p>\n", e.Priority, esc(e.Duration), e.Retries)
		writeArtifacts(&b, e.Artifacts)
		writeWaiverNote(&b, e)
		for _, n := range e.Notes {
			fmt.Fprintf(&b, `<div class="note">note: %s</div>`, esc(n))
		}
		for j := range e.Steps {
			writeStep(&b, &e.Steps[j])
		}
		writeMeasures(&b, e.Measures)
		b.WriteString("\n</div></details>\n")
	}
	return template.HTML(b.String())
}

// writeWaiverNote writes the waiver note of e: the original verdict of a
// waived result, or an expired waiver that matched and no longer applies.
func writeWaiverNote(b *strings.Builder, e *evView) {
	if e.Orig != "" {
		fmt.Fprintf(b, `<div class="wnote">Waived — original verdict <b>%s</b>: %s`, esc(e.Orig), esc(e.OrigReason))
		if w := e.Waiver; w != nil {
			fmt.Fprintf(b, "<br>waiver: %s", esc(w.Justification))
			writeTracker(b, w.Tracker)
			fmt.Fprintf(b, ", expires %s", esc(w.Expires))
		}
		b.WriteString("</div>")
	} else if w := e.Waiver; w != nil && w.Expired {
		fmt.Fprintf(b, `<div class="wnote expired">An expired waiver matched and no longer applies: %s`, esc(w.Justification))
		writeTracker(b, w.Tracker)
		fmt.Fprintf(b, ", expired %s</div>", esc(w.Expires))
	}
}

// writeStep writes one step of an evidence entry.
func writeStep(b *strings.Builder, s *stepView) {
	fmt.Fprintf(b, "\n<div class=\"st\"><b>%s</b>", esc(s.Step))
	if s.Command != "" {
		fmt.Fprintf(b, " <code>%s</code>", esc(s.Command))
	}
	if s.Exit != "" || s.Duration != "" {
		b.WriteString(" <i>")
		if s.Exit != "" {
			fmt.Fprintf(b, "exit %s", esc(s.Exit))
		}
		if s.Exit != "" && s.Duration != "" {
			b.WriteString(" · ")
		}
		b.WriteString(esc(s.Duration))
		b.WriteString("</i>")
	}
	if s.OK != "" {
		fmt.Fprintf(b, ` <span class="badge %s">%s</span>`, esc(s.OKClass), esc(s.OK))
	}
	if s.Expected != "" || s.Actual != "" || s.Tolerance != "" || s.Profile != "" {
		b.WriteString("<p>")
		if s.Expected != "" || s.Actual != "" {
			fmt.Fprintf(b, "expected <b>%s</b> actual <b>%s</b>", esc(s.Expected), esc(s.Actual))
		}
		if s.Tolerance != "" {
			fmt.Fprintf(b, " tolerance <b>%s</b>", esc(s.Tolerance))
		}
		if s.Profile != "" {
			fmt.Fprintf(b, " profile <code>%s</code>", esc(s.Profile))
		}
		b.WriteString("</p>")
	}
	if s.Output != "" {
		fmt.Fprintf(b, `<pre class="out">%s</pre>`, esc(s.Output))
	}
	b.WriteString("</div>")
}

// writeMeasures writes the measurement table of an evidence entry, if any.
func writeMeasures(b *strings.Builder, ms []measureView) {
	if len(ms) == 0 {
		return
	}
	b.WriteString("<table class=\"steps\"><thead><tr><th scope=\"col\">measurement</th><th scope=\"col\">value</th><th scope=\"col\">threshold</th><th scope=\"col\">better</th><th scope=\"col\">source</th><th scope=\"col\">samples</th></tr></thead><tbody>\n")
	for _, m := range ms {
		fmt.Fprintf(b, "<tr><td><code>%s</code></td><td>", esc(m.Name))
		if m.Class != "" {
			fmt.Fprintf(b, `<span class="badge %s">%s</span>`, esc(m.Class), esc(m.Value))
		} else {
			b.WriteString(esc(m.Value))
		}
		samples := ""
		if m.Samples > 0 {
			samples = fmt.Sprint(m.Samples)
		}
		fmt.Fprintf(b, "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>", esc(m.Threshold), esc(m.Better), esc(m.Source), samples)
	}
	b.WriteString("\n</tbody></table>")
}

// writeArtifacts links a failed check's target artifacts (guest
// diagnostics, console), relative to the run directory the report sits
// in. Only a path under artifacts/ becomes a link; anything else (a
// hand-edited results.json) is shown as text.
func writeArtifacts(b *strings.Builder, arts []string) {
	if len(arts) == 0 {
		return
	}
	b.WriteString(`<p class="arts">artifacts:`)
	for _, a := range arts {
		if href, ok := artifactHref(a); ok {
			fmt.Fprintf(b, ` <a href="%s">%s</a>`, esc(href), esc(path.Base(a)))
		} else {
			fmt.Fprintf(b, ` <code>%s</code>`, esc(a))
		}
	}
	b.WriteString("</p>\n")
}

// artifactHref is a's relative URL, when a is a clean path under
// artifacts/ (each segment escaped).
func artifactHref(a string) (string, bool) {
	if !fs.ValidPath(a) || !strings.HasPrefix(a, "artifacts/") {
		return "", false
	}
	segs := strings.Split(a, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/"), true
}
