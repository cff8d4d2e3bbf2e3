// Package waiver loads waiver files and applies them to a run.
//
// A waiver file is YAML, decoded strictly (unknown keys are errors):
//
//	waivers:
//	  - check: clock.source          # check ID, glob (path.Match) allowed
//	    host: "hyperv-*"             # optional glob on the plan's host name
//	    image: "debian-*"            # optional glob on the plan's image name
//	    justification: the simulator has no TSC page
//	    tracker: https://tracker.example/VC-12
//	    expires: 2026-12-31          # last day the waiver applies (UTC)
//
// check, justification, tracker and expires are required. A waiver applies
// through the end of its expiry day (UTC); from the next day on it is
// expired.
//
// Apply turns a FAIL or ERROR covered by a valid waiver into WAIVED,
// keeping the original status and reason in the result. A matching waiver
// that has expired no longer applies: the result keeps its verdict and
// says "waiver expired on DATE". Run.Waivers lists every waiver that
// applied or expired, with the results it covered; the HTML certificate
// states them all.
package waiver

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/virtcert/virtcert/reports"
)

// Waiver is one entry of a waiver file.
type Waiver struct {
	Check         string `yaml:"check"`
	Host          string `yaml:"host,omitempty"`
	Image         string `yaml:"image,omitempty"`
	Justification string `yaml:"justification"`
	Tracker       string `yaml:"tracker"`
	Expires       Date   `yaml:"expires"`
	// Line is the entry's line in its file, for messages.
	Line int `yaml:"-"`
}

// Date is a calendar day (YYYY-MM-DD), midnight UTC.
type Date struct{ time.Time }

// UnmarshalYAML accepts only YYYY-MM-DD, so "12/31/2026" or a bare number
// is an error instead of a silently wrong date.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expires must be a date YYYY-MM-DD", n.Line)
	}
	t, err := time.Parse("2006-01-02", n.Value)
	if err != nil {
		return fmt.Errorf("line %d: expires %q is not a date YYYY-MM-DD", n.Line, n.Value)
	}
	d.Time = t
	return nil
}

// MarshalYAML writes the date back as YYYY-MM-DD.
func (d Date) MarshalYAML() (any, error) { return d.Format("2006-01-02"), nil }

type file struct {
	Waivers []yaml.Node `yaml:"waivers"`
}

// ErrInvalid marks a malformed waiver file (bad input: exit 2).
var ErrInvalid = errors.New("invalid waiver file")

// Load reads and validates a waiver file.
func Load(name string) ([]Waiver, error) {
	b, err := reports.ReadFileLimited(name, reports.MaxInputFileBytes)
	if err != nil {
		return nil, fmt.Errorf("waivers: %w", err)
	}
	ws, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ws, nil
}

// Parse decodes and validates waiver YAML.
func Parse(b []byte) ([]Waiver, error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var out []Waiver
	for _, n := range f.Waivers {
		var w Waiver
		// Decode each entry on its own so errors carry its line and
		// unknown keys are still rejected.
		if err := decodeStrict(&n, &w); err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrInvalid, n.Line, err)
		}
		w.Line = n.Line
		if err := w.validate(); err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrInvalid, n.Line, err)
		}
		out = append(out, w)
	}
	return out, nil
}

func decodeStrict(n *yaml.Node, w *Waiver) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(w)
}

func (w *Waiver) validate() error {
	var missing []string
	if strings.TrimSpace(w.Check) == "" {
		missing = append(missing, "check")
	}
	if strings.TrimSpace(w.Justification) == "" {
		missing = append(missing, "justification")
	}
	if strings.TrimSpace(w.Tracker) == "" {
		missing = append(missing, "tracker")
	}
	if w.Expires.IsZero() {
		missing = append(missing, "expires")
	}
	if len(missing) > 0 {
		return fmt.Errorf("waiver for %q: missing %s", w.Check, strings.Join(missing, ", "))
	}
	for field, p := range map[string]string{"check": w.Check, "host": w.Host, "image": w.Image} {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("waiver for %q: bad %s pattern %q: %v", w.Check, field, p, err)
		}
	}
	return nil
}

func match(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	ok, _ := path.Match(pattern, s)
	return ok
}

// Matches reports whether the waiver covers check on host/image.
func (w *Waiver) Matches(t *reports.Target, check string) bool {
	return match(w.Check, check) && match(w.Host, t.Host) && match(w.Image, t.Image)
}

// Expired reports whether the waiver no longer applies at now: it applies
// through the whole expiry day (UTC).
func (w *Waiver) Expired(now time.Time) bool {
	return !now.UTC().Before(w.Expires.Time.AddDate(0, 0, 1))
}

func (w *Waiver) note(now time.Time) reports.WaiverNote {
	return reports.WaiverNote{Check: w.Check, Host: w.Host, Image: w.Image, Justification: w.Justification,
		Tracker: w.Tracker, Expires: w.Expires.Time, Expired: w.Expired(now)}
}

// Apply applies waivers to run at now. It is idempotent: results waived by
// an earlier Apply are first restored to their original verdict, so
// applying a new waiver file (or the same one later, after expiry) gives
// the right answer. The first valid matching waiver (file order) wins;
// when only expired waivers match, the result keeps its verdict and notes
// the expiry. run.Waivers is replaced by the waivers that applied or
// expired, in file order.
func Apply(run *reports.Run, ws []Waiver, now time.Time) {
	used := make([]*reports.WaiverNote, len(ws))
	for _, t := range run.Targets {
		for _, r := range t.Results {
			restore(r)
			if r.Status != reports.Fail && r.Status != reports.Error {
				continue
			}
			var expired *Waiver
			applied := -1
			for i := range ws {
				w := &ws[i]
				if !w.Matches(t, r.Check) {
					continue
				}
				if w.Expired(now) {
					if expired == nil {
						expired = w
						record(used, i, w, now, t, r)
					}
					continue
				}
				applied = i
				break
			}
			if applied >= 0 {
				w := &ws[applied]
				n := w.note(now)
				r.OriginalStatus, r.OriginalReason = r.Status, r.Reason
				r.Status = reports.Waived
				r.Reason = fmt.Sprintf("waived (%s, expires %s): was %s: %s", w.Tracker, w.Expires.Format("2006-01-02"), r.OriginalStatus, r.OriginalReason)
				r.Waiver = &n
				record(used, applied, w, now, t, r)
				continue
			}
			if expired != nil {
				n := expired.note(now)
				r.Waiver = &n
				r.Notes = append(r.Notes, expiredNote(expired))
			}
		}
	}
	run.Waivers = nil
	for _, n := range used {
		if n != nil {
			run.Waivers = append(run.Waivers, *n)
		}
	}
}

func expiredNote(w *Waiver) string {
	return fmt.Sprintf("waiver expired on %s (%s): no longer applies", w.Expires.Format("2006-01-02"), w.Tracker)
}

func record(used []*reports.WaiverNote, i int, w *Waiver, now time.Time, t *reports.Target, r *reports.Result) {
	if used[i] == nil {
		n := w.note(now)
		used[i] = &n
	}
	used[i].Covers = append(used[i].Covers, t.ID+" "+r.Check)
}

// restore undoes an earlier Apply on one result.
func restore(r *reports.Result) {
	if r.Status == reports.Waived && r.OriginalStatus != "" {
		r.Status, r.Reason = r.OriginalStatus, r.OriginalReason
		r.OriginalStatus, r.OriginalReason = "", ""
	}
	if r.Waiver != nil {
		if r.Waiver.Expired {
			notes := r.Notes[:0]
			for _, n := range r.Notes {
				if !strings.HasPrefix(n, "waiver expired on ") {
					notes = append(notes, n)
				}
			}
			r.Notes = notes
			if len(r.Notes) == 0 {
				r.Notes = nil
			}
		}
		r.Waiver = nil
	}
}
