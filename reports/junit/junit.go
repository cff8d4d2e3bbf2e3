// Package junit renders a reports.Run as JUnit XML through
// go-junit-report/v2's junit package.
//
// Mapping (documented in reports/SCHEMA.md too):
//   - one <testsuite> per target (host × image), named by the target ID,
//     package = target ID, hostname = the host's reported name;
//   - one <testcase> per check: name = check ID, classname = area,
//     time = duration in seconds (%.3f);
//   - FAIL → <failure type="virtcert.FAIL">, ERROR → <error
//     type="virtcert.ERROR">, SKIP → <skipped message=reason>; the element
//     body carries the check's evidence;
//   - WAIVED → a passing testcase (CI must not go red for an accepted,
//     tracked failure), with the original verdict, justification, tracker
//     and expiry in a "waived.<check>" property and in system-out;
//   - the environment fingerprint (HostInfo, GuestInfo, run ID, plan hash,
//     virtcert version, profile, verdict) as <properties>;
//   - every check's evidence in the suite's <system-out>;
//   - a target with a FAIL or ERROR lists its artifacts (guest
//     diagnostics, console; paths relative to the run directory, where
//     junit.xml is) as "[[ATTACHMENT|path]]" lines at the top of the
//     suite's <system-out> (Jenkins' attachments plugin reads them) and in
//     an "artifacts" property; with CaseOutput, also in each failed
//     testcase's <system-out>.
//
// The default output validates against the Apache Ant JUnit schema that
// Jenkins, GitLab and GitHub reporters follow, which allows system-out only
// on the suite and no attributes on <testsuites>. Options.CaseOutput adds a
// per-testcase <system-out> as well (GitLab and Jenkins show it next to the
// test), at the cost of strict Ant validity.
//
// Build renders a reports.CleanCopy of the run: ANSI sequences and
// control characters are removed from every string, once, because a raw
// ESC byte makes the XML invalid.
package junit

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	gojunit "github.com/jstemmer/go-junit-report/v2/junit"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
)

// Options tune the output.
type Options struct {
	// CaseOutput adds each check's evidence as a testcase-level
	// <system-out>. Off by default: the Ant schema does not allow it.
	CaseOutput bool
}

// Write renders run as Ant-schema-valid JUnit XML.
func Write(w io.Writer, run *reports.Run) error { return WriteOptions(w, run, Options{}) }

// WriteOptions renders run with options.
func WriteOptions(w io.Writer, run *reports.Run, opt Options) error {
	ts := Build(run, opt)
	if _, err := io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"); err != nil {
		return err
	}
	return ts.WriteXML(w)
}

// Build converts run to the junit package's model.
func Build(run *reports.Run, opt Options) gojunit.Testsuites {
	run = reports.CleanCopy(run) // every field, IDs and statuses included
	// The Ant schema allows no attributes on <testsuites>, so the totals
	// (which AddSuite would fill in) are left out on purpose.
	var ts gojunit.Testsuites
	for i, t := range run.Targets {
		ts.Suites = append(ts.Suites, suite(run, t, i, opt))
	}
	return ts
}

// antTime is the Ant schema's timestamp: no zone allowed, so always UTC.
const antTime = "2006-01-02T15:04:05"

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func suite(run *reports.Run, t *reports.Target, idx int, opt Options) gojunit.Testsuite {
	start, total := suiteTiming(run, t)
	s := gojunit.Testsuite{
		Name:      nonEmpty(t.ID, "target"),
		ID:        idx,
		Package:   nonEmpty(t.ID, "target"),
		Hostname:  suiteHostname(t),
		Time:      secs(total),
		Timestamp: start.UTC().Format(antTime),
		// The schema requires <properties>, <system-out> and <system-err>.
		Properties: &[]gojunit.Property{},
		SystemOut:  &gojunit.Output{},
		SystemErr:  &gojunit.Output{},
	}
	for _, p := range fingerprint(run, t) {
		if p.Value != "" {
			s.AddProperty(p.Name, p.Value)
		}
	}
	var out strings.Builder
	if t.HostInfo.TLSUnverified {
		fmt.Fprintf(&out, "WARNING: %s\n\n", drivers.TLSBanner(t.Host))
	}
	if t.Error != "" {
		fmt.Fprintf(&out, "TARGET ERROR: %s\n\n", t.Error)
		s.SystemErr.Data = t.Error + "\n"
	}
	attach := ""
	if failed(t) && len(t.Artifacts) > 0 {
		attach = attachments(t.Artifacts)
		s.AddProperty("artifacts", strings.Join(t.Artifacts, " "))
		out.WriteString(attach + "\n")
	}
	for _, r := range t.Results {
		ev := EvidenceText(r)
		if r.Status == reports.Waived {
			s.AddProperty("waived."+nonEmpty(r.Check, "check"), waivedNote(r))
		}
		s.AddTestcase(testcase(r, ev, attach, opt))
		writeResultOutput(&out, r, ev)
	}
	s.SystemOut.Data = out.String()
	return s
}

// suiteTiming is a target's suite timestamp (its start, else the run's)
// and duration (its wall time, else the sum of its results).
func suiteTiming(run *reports.Run, t *reports.Target) (start time.Time, total time.Duration) {
	start = t.Started
	if start.IsZero() {
		start = run.Started
	}
	for _, r := range t.Results {
		total += r.Duration
	}
	if !t.Started.IsZero() && !t.Finished.IsZero() && t.Finished.After(t.Started) {
		total = t.Finished.Sub(t.Started)
	}
	return start, total
}

// suiteHostname is the host name a target reports, else its host, else
// localhost.
func suiteHostname(t *reports.Target) string {
	hostname := t.HostInfo.Name
	if strings.TrimSpace(hostname) == "" {
		hostname = t.Host
	}
	if strings.TrimSpace(hostname) == "" {
		hostname = "localhost"
	}
	return hostname
}

// testcase is the <testcase> of r, with ev its evidence text and attach
// the target's artifact list (prefixed to a failure's case output).
func testcase(r *reports.Result, ev, attach string, opt Options) gojunit.Testcase {
	tc := gojunit.Testcase{Name: nonEmpty(r.Check, "check"), Classname: nonEmpty(r.Area, "virtcert"), Time: secs(r.Duration)}
	msg := r.Reason
	switch r.Status {
	case reports.Fail:
		tc.Failure = &gojunit.Result{Message: msg, Type: "virtcert.FAIL", Data: ev}
	case reports.Error:
		tc.Error = &gojunit.Result{Message: msg, Type: "virtcert.ERROR", Data: ev}
	case reports.Skip:
		// <skipped> allows only a message attribute in the Ant schema.
		tc.Skipped = &gojunit.Result{Message: msg, Data: ev}
	case reports.NA:
		// JUnit has no "not applicable": skipped, the message says n/a.
		tc.Skipped = &gojunit.Result{Message: "n/a: " + msg, Data: ev}
	}
	if opt.CaseOutput {
		tc.SystemOut = &gojunit.Output{Data: ev}
		if r.Status == reports.Fail || r.Status == reports.Error {
			tc.SystemOut.Data = attach + ev
		}
	}
	return tc
}

// writeResultOutput writes r's section of the suite's <system-out>.
func writeResultOutput(out *strings.Builder, r *reports.Result, ev string) {
	fmt.Fprintf(out, "=== %s [%s] %s (%ss", r.Check, r.Status, r.Title, secs(r.Duration))
	if r.Retries > 0 {
		fmt.Fprintf(out, ", %d retries", r.Retries)
	}
	out.WriteString(")\n")
	if r.Status == reports.Waived {
		fmt.Fprintf(out, "WAIVED: %s\n", waivedNote(r))
	}
	out.WriteString(ev)
	out.WriteString("\n")
}

// failed reports whether a target has a FAIL or ERROR, or a setup error.
func failed(t *reports.Target) bool {
	c := t.Count()
	return c[reports.Fail] > 0 || c[reports.Error] > 0 || t.Error != ""
}

// attachments is one "[[ATTACHMENT|path]]" line per artifact.
func attachments(arts []string) string {
	var b strings.Builder
	for _, a := range arts {
		fmt.Fprintf(&b, "[[ATTACHMENT|%s]]\n", a)
	}
	return b.String()
}

func nonEmpty(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

func waivedNote(r *reports.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "was %s: %s", r.OriginalStatus, r.OriginalReason)
	if w := r.Waiver; w != nil {
		fmt.Fprintf(&b, "; waiver: %s", w.Justification)
		if w.Tracker != "" {
			fmt.Fprintf(&b, " (%s)", w.Tracker)
		}
		if !w.Expires.IsZero() {
			fmt.Fprintf(&b, ", expires %s", w.Expires.Format("2006-01-02"))
		}
	}
	return b.String()
}

type prop struct{ Name, Value string }

// fingerprint lists the environment properties of a target, in a stable
// order (maps sorted by key).
func fingerprint(run *reports.Run, t *reports.Target) []prop {
	h, g := t.HostInfo, t.Guest
	ps := []prop{
		{"virtcert.version", run.Version},
		{"virtcert.run_id", run.ID},
		{"virtcert.plan", run.PlanName},
		{"virtcert.plan_sha256", run.PlanHash},
		{"virtcert.verdict", string(t.Verdict(run.Complete))},
		{"target.id", t.ID},
		{"target.host", t.Host},
		{"target.image", t.Image},
		{"target.profile", t.Profile},
		{"target.error", t.Error},
		{"host.driver", h.Driver},
		{"host.hypervisor", h.Hypervisor},
		{"host.name", h.Name},
		{"host.os", h.OS},
		{"host.accel", h.Accel},
		{"host.nature", h.Nature},
	}
	if b := run.Build; b != nil {
		ps = append(ps, prop{"virtcert.revision", b.Revision}, prop{"virtcert.dirty", fmt.Sprint(b.Dirty)},
			prop{"virtcert.go", strings.TrimSpace(b.Go + " " + b.Platform)})
	}
	if run.Shard != nil {
		ps = append(ps, prop{"virtcert.shard", run.Shard.String()})
	}
	if src := run.SourceOf(t.ID); src != nil {
		ps = append(ps, prop{"virtcert.shard", src.Shard}, prop{"virtcert.shard.run_id", src.RunID},
			prop{"virtcert.shard.bundle", src.Bundle}, prop{"virtcert.shard.signer", src.Signer})
	}
	if h.TLSUnverified {
		ps = append(ps, prop{"host.tls", drivers.TLSBanner(t.Host)})
	}
	for _, k := range sortedKeys(h.Versions) {
		ps = append(ps, prop{"host.version." + k, h.Versions[k]})
	}
	for i, n := range h.Notes {
		ps = append(ps, prop{fmt.Sprintf("host.note.%d", i+1), n})
	}
	ps = append(ps,
		prop{"guest.name", g.Name},
		prop{"guest.address", g.Address},
		prop{"guest.distro", g.Distro},
		prop{"guest.kernel", g.Kernel},
		prop{"guest.image_sha256", g.ImageSHA256},
		prop{"guest.image_path", g.ImagePath},
		prop{"guest.nature", g.Nature},
		prop{"guest.identity", g.Identity},
		prop{"guest.identity_error", g.IdentityError},
	)
	for _, k := range sortedKeys(g.Config) {
		ps = append(ps, prop{"guest.config." + k, g.Config[k]})
	}
	if g.BootSeconds > 0 {
		ps = append(ps, prop{"guest.boot_seconds", fmt.Sprintf("%.3f", g.BootSeconds)})
	}
	return ps
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// EvidenceText renders a result's reason, evidence and measurements as
// plain text (ANSI and control characters removed), for JUnit bodies and
// text reports.
func EvidenceText(r *reports.Result) string {
	c := reports.Clean
	var b strings.Builder
	if r.Reason != "" {
		fmt.Fprintf(&b, "reason: %s\n", c(r.Reason))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", c(n))
	}
	for i, e := range r.Evidence {
		fmt.Fprintf(&b, "[%d] %s\n", i+1, c(e.Step))
		if e.Command != "" {
			fmt.Fprintf(&b, "    command: %s\n", c(e.Command))
		}
		if e.Exit != nil {
			fmt.Fprintf(&b, "    exit: %d\n", *e.Exit)
		}
		if e.Expected != "" || e.Actual != "" {
			fmt.Fprintf(&b, "    expected: %s\n    actual: %s\n", c(e.Expected), c(e.Actual))
		}
		if e.Tolerance != "" {
			fmt.Fprintf(&b, "    tolerance: %s\n", c(e.Tolerance))
		}
		if e.Profile != "" {
			fmt.Fprintf(&b, "    profile: %s\n", c(e.Profile))
		}
		if e.OK != nil {
			fmt.Fprintf(&b, "    ok: %t\n", *e.OK)
		}
		if e.Duration > 0 {
			fmt.Fprintf(&b, "    duration: %ss\n", secs(e.Duration))
		}
		if e.Gathered != "" {
			fmt.Fprintf(&b, "    gathered: %s\n", c(e.Gathered))
		}
		if e.Output != "" {
			b.WriteString("    output:\n")
			for _, l := range strings.Split(strings.TrimRight(c(e.Output), "\n"), "\n") {
				b.WriteString("      | ")
				b.WriteString(l)
				b.WriteByte('\n')
			}
		}
	}
	for _, m := range r.Measures {
		fmt.Fprintf(&b, "measurement %s = %s", c(m.Name), c(reports.Human(m.Value, m.Unit)))
		if m.Threshold != nil {
			fmt.Fprintf(&b, " (threshold %s, %s is better)", c(reports.Human(*m.Threshold, m.Unit)), c(m.Better))
		}
		if len(m.Series) > 0 {
			fmt.Fprintf(&b, " [%d samples]", len(m.Series))
		}
		b.WriteByte('\n')
	}
	return b.String()
}
