// Package reports holds the format-neutral result model of a certification
// run, and the writers that render it (junit, html, json bundle). The model
// is what results.json serialises; its schema is versioned by SchemaVersion
// and documented in reports/SCHEMA.md.
//
// The subpackages, as the runner and the CLI call them:
//
//	rundir.Create(path) / Reopen / Resume                          the one run-directory writer (os.Root, no symlink followed)
//	rundir.Load(path) (*Run, error)                                the one reader: run directory (journal) or results.json
//	bundle.Write(d, run, artifacts, bundle.Options{SignKey: k})    results.json, junit.xml, report.html, artifacts, manifest(.sig)
//	bundle.Seal(d, key)                                            re-hash after adding files (refuses to drop a signature)
//	bundle.Verify(dir, trusted...) (*bundle.Report, error)         tampered / missing / extra / signature
//	bundle.GenerateKey, LoadPrivateKey, LoadPublicKey              ed25519 PEM keys (openssl-compatible)
//	junit.Write(w, run)                                            Ant-schema-valid JUnit
//	html.Write(w, run, html.Options{})                             the self-contained certificate
//	waiver.Load(file) ([]waiver.Waiver, error)                     strict YAML
//	waiver.Apply(run, waivers, now)                                FAIL/ERROR -> WAIVED, expiry noted
//	merge.Runs(runs, merge.Options{}) / merge.Dirs(dirs, opt)      combine CI shards
//	diff.Compare(a, b, diff.Options{}) *diff.Diff                  regressions, fixes, measurements
//	diff.WriteText(w, d) / diff.WriteHTML(w, d)
//	progress.New(w, progress.IsTerminal(f)) progress.Sink          live view or line logs
//
// Clean strips ANSI and control characters from anything a guest printed;
// every writer applies it.
package reports

import (
	"fmt"
	"strings"
	"time"

	"github.com/virtcert/virtcert/drivers"
)

// SchemaVersion is the version of results.json. Bump it on any
// incompatible change and document the change in SCHEMA.md.
const SchemaVersion = "virtcert.results/v1"

// Status is a check verdict.
type Status string

const (
	// Pass: the guest behaved as the profile expects.
	Pass Status = "PASS"
	// Fail: the guest misbehaved.
	Fail Status = "FAIL"
	// Error: the harness or the host broke; says nothing about the guest.
	Error Status = "ERROR"
	// Skip: the check did not run; Reason always says why.
	Skip Status = "SKIP"
	// Waived: the check failed or errored, and a valid waiver covers it.
	Waived Status = "WAIVED"
	// NA: the check does not apply to the target's hypervisor or guest
	// OS (a Hyper-V check on a KVM host); Reason says why. Kept apart from
	// SKIP (a check that applies but could not run here), and never
	// changes a verdict: like SKIP it is neither a PASS nor a FAIL.
	NA Status = "N/A"
)

// Run is one certification run: every target and every check result.
type Run struct {
	Schema  string `json:"schema"`
	ID      string `json:"id"`       // the run label, e.g. vc-20261121-2315-ab12cd
	Version string `json:"virtcert"` // virtcert version
	// Build is the producing binary's version, VCS revision, dirty flag
	// and Go toolchain (absent in runs of older versions).
	Build    *Build    `json:"build,omitempty"`
	PlanHash string    `json:"plan_sha256,omitempty"`
	PlanName string    `json:"plan,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitempty"`
	// Complete is false when the run was interrupted or is still going;
	// such a run's verdict is INCOMPLETE.
	Complete bool         `json:"complete"`
	Targets  []*Target    `json:"targets"`
	Waivers  []WaiverNote `json:"waivers,omitempty"`
	// Shards lists the run IDs merged into this one (report merge).
	Shards []string `json:"shards,omitempty"`
	// Shard is set on a run of one shard (run --shard i/n): which one,
	// and the whole plan's targets, so report merge can tell a missing or
	// doubled shard. A merged run has none.
	Shard *Shard `json:"shard,omitempty"`
	// Sources are the shards a merged run was made of, each with how its
	// bundle was verified (report merge).
	Sources []ShardSource `json:"shard_sources,omitempty"`
}

// Shard says which part of a plan's matrix a run covered.
type Shard struct {
	Index int `json:"index"` // 1-based
	Count int `json:"count"`
	// Matrix is every target ID of the plan, in plan order: the union of
	// all shards' targets.
	Matrix []string `json:"matrix"`
}

// String is "i/n".
func (s *Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// ShardSource is one shard merged into a run: where it came from and how
// its bundle's origin was checked.
type ShardSource struct {
	RunID string `json:"run_id"`
	Shard string `json:"shard,omitempty"` // "i/n"
	Path  string `json:"path"`            // as given to report merge
	// Bundle is VERIFIED (intact, signed by a trusted key), or UNVERIFIED
	// (accepted with --allow-unsigned: integrity only, a bare
	// results.json, or a merged run with an UNVERIFIED source of its
	// own), never FAILED: a failed shard is refused.
	Bundle string `json:"bundle"`
	// Signer is the SHA-256 fingerprint of the trusted key that verified
	// the bundle (empty unless VERIFIED).
	Signer  string   `json:"signer,omitempty"`
	Targets []string `json:"targets"`
}

// Target is one host × image pair (one guest, or a guest pair for checks
// that need a peer).
type Target struct {
	ID    string `json:"id"`    // "<host>/<image>", stable across runs
	Host  string `json:"host"`  // plan's host name
	Image string `json:"image"` // plan's image name
	// Compare is the comparison group: targets with the same group are the
	// same guest OS on different hosts, judged side by side (the plan
	// image's compare_as; empty means the image name). See Group.
	Compare  string           `json:"compare,omitempty"`
	Profile  string           `json:"profile"`
	HostInfo drivers.HostInfo `json:"host_info"`
	Guest    GuestInfo        `json:"guest"`
	// Error is set when the target could not be provisioned or reached;
	// its checks are then ERROR (or FAIL for guest faults).
	Error   string    `json:"error,omitempty"`
	Results []*Result `json:"results"`
	// Artifacts are files in the bundle, relative to the run directory.
	Artifacts []string  `json:"artifacts,omitempty"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished,omitempty"`
}

// GuestInfo is the guest half of the environment fingerprint.
type GuestInfo struct {
	Name        string            `json:"name,omitempty"`
	Address     string            `json:"address,omitempty"`
	Distro      string            `json:"distro,omitempty"`
	Kernel      string            `json:"kernel,omitempty"`
	ImageSHA256 string            `json:"image_sha256,omitempty"`
	ImagePath   string            `json:"image_path,omitempty"`
	Config      map[string]string `json:"config,omitempty"`       // cpus, memory, nic model, disk bus, firmware
	BootSeconds float64           `json:"boot_seconds,omitempty"` // provision to first successful probe
	// Nature is drivers.NatureSimulated when the guest declared itself a
	// stand-in (a Linux guest playing Windows) to the identity query a
	// Windows guest is asked once after readiness; Identity is what it
	// declared. IdentityError says why the query failed (the nature is
	// then unknown, never assumed real).
	Nature        string `json:"nature,omitempty"`
	Identity      string `json:"identity,omitempty"`
	IdentityError string `json:"identity_error,omitempty"`
}

// Simulated reports whether the guest declared itself a stand-in.
func (g GuestInfo) Simulated() bool { return g.Nature == drivers.NatureSimulated }

// Result is one check's verdict on one target.
type Result struct {
	Check    string `json:"check"` // stable ID, e.g. "clock.offset"
	Area     string `json:"area"`
	Priority int    `json:"priority"`
	Title    string `json:"title,omitempty"`
	Status   Status `json:"status"`
	// Reason is the one-line why: always set for SKIP, FAIL, ERROR, WAIVED.
	Reason   string        `json:"reason,omitempty"`
	Evidence []Evidence    `json:"evidence,omitempty"`
	Measures []Measurement `json:"measurements,omitempty"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	Retries  int           `json:"retries,omitempty"`
	// Waiver is set when Status is WAIVED, or when an expired waiver
	// matched and no longer applies (Status keeps the real verdict).
	Waiver *WaiverNote `json:"waiver,omitempty"`
	// OriginalStatus and OriginalReason keep the real verdict of a WAIVED
	// result (FAIL or ERROR and its reason), so a waiver never hides what
	// happened.
	OriginalStatus Status `json:"original_status,omitempty"`
	OriginalReason string `json:"original_reason,omitempty"`
	// Notes are remarks added after the check ran ("waiver expired on
	// 2026-11-01 (https://tracker/123)").
	Notes []string `json:"notes,omitempty"`
}

// Evidence is one observation behind a verdict: what was run, what came
// back, what was expected and with which tolerance.
type Evidence struct {
	// Step names the observation ("read current_clocksource").
	Step string `json:"step"`
	// Command is what ran in the guest or on the host ("host: virDomainSetInterfaceLink").
	Command string `json:"command,omitempty"`
	Exit    *int   `json:"exit,omitempty"`
	// Output is an excerpt of what came back (bounded; see MaxExcerpt).
	Output    string `json:"output,omitempty"`
	Expected  string `json:"expected,omitempty"`
	Actual    string `json:"actual,omitempty"`
	Tolerance string `json:"tolerance,omitempty"`
	// Profile is the expectation profile key the expected value came from
	// ("kvm-tcg:clock.offset.max_seconds").
	Profile  string        `json:"profile,omitempty"`
	OK       *bool         `json:"ok,omitempty"`
	Duration time.Duration `json:"duration_ns,omitempty"`
	// Gathered says the output was served from the read-only snapshot
	// (when it was taken, in how many round trips); empty for a command
	// run on its own.
	Gathered string `json:"gathered,omitempty"`
}

// MaxExcerpt bounds Evidence.Output.
const MaxExcerpt = 4096

// Measurement is a named figure, optionally with a series for charts.
type Measurement struct {
	Name      string   `json:"name"` // "tcp.throughput.guest_to_controller"
	Unit      string   `json:"unit"` // "Mbit/s", "s", "ppm", "IOPS"
	Value     float64  `json:"value"`
	Threshold *float64 `json:"threshold,omitempty"` // profile limit
	// Better is "higher" or "lower": which side of Threshold passes.
	Better string  `json:"better,omitempty"`
	Source string  `json:"source,omitempty"` // "vcprobe", "fio", "iperf3"
	Series []Point `json:"series,omitempty"`
}

// Point is one sample of a series (seconds since the first sample).
type Point struct {
	T float64 `json:"t"`
	V float64 `json:"v"`
}

// WaiverNote records a waiver that applied (or expired) on a result.
type WaiverNote struct {
	Check         string    `json:"check"`
	Host          string    `json:"host,omitempty"`
	Image         string    `json:"image,omitempty"`
	Justification string    `json:"justification"`
	Tracker       string    `json:"tracker,omitempty"`
	Expires       time.Time `json:"expires"`
	Expired       bool      `json:"expired"`
	// Covers lists the results the waiver matched, as "<target> <check>"
	// (only on Run.Waivers; empty on a Result's own note).
	Covers []string `json:"covers,omitempty"`
}

// Verdict is the certification verdict of a target or a run.
type Verdict string

const (
	Certified    Verdict = "CERTIFIED"
	NotCertified Verdict = "NOT CERTIFIED"
	Incomplete   Verdict = "INCOMPLETE"
)

// Counts tallies results by status.
type Counts map[Status]int

// String is the one rendering of a tally ("39 pass, 2 skip, 8 n/a"),
// statuses in StatusRank order, those with no result left out.
func (c Counts) String() string {
	var parts []string
	for _, s := range Statuses {
		if c[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[s], strings.ToLower(string(s))))
		}
	}
	if len(parts) == 0 {
		return "no checks"
	}
	return strings.Join(parts, ", ")
}

// Group is the target's comparison group: Compare, else the image name.
func (t *Target) Group() string {
	if t.Compare != "" {
		return t.Compare
	}
	return t.Image
}

// Count tallies the target's results.
func (t *Target) Count() Counts {
	c := Counts{}
	for _, r := range t.Results {
		c[r.Status]++
	}
	return c
}

// Verdict is NOT CERTIFIED when any check failed or errored (waived ones
// excepted), INCOMPLETE when the target never finished, NOT CERTIFIED when
// no selected check PASSed (nothing was tested: every check SKIPped or was
// waived), else CERTIFIED. Why gives the reason.
func (t *Target) Verdict(runComplete bool) Verdict {
	c := t.Count()
	if c[Fail] > 0 || c[Error] > 0 || t.Error != "" {
		return NotCertified
	}
	if !runComplete || t.Finished.IsZero() {
		return Incomplete
	}
	if c[Pass] == 0 {
		return NotCertified
	}
	return Certified
}

// NothingTested reports whether the target finished without a FAIL or an
// ERROR but with no PASS either: nothing about the guest was established,
// so it is NOT CERTIFIED.
func (t *Target) NothingTested(runComplete bool) bool {
	c := t.Count()
	return t.Verdict(runComplete) == NotCertified && c[Fail] == 0 && c[Error] == 0 && t.Error == "" && c[Pass] == 0
}

// Why is the one-line reason for the target's verdict.
func (t *Target) Why(runComplete bool) string {
	c := t.Count()
	switch {
	case t.Error != "":
		return "target error: " + t.Error
	case c[Fail] > 0 || c[Error] > 0:
		return fmt.Sprintf("%d check(s) failed, %d could not be run (ERROR)", c[Fail], c[Error])
	case !runComplete || t.Finished.IsZero():
		return "the target did not finish"
	case c[Pass] == 0:
		return fmt.Sprintf("nothing tested: no selected check passed (%d skipped, %d n/a, %d waived)", c[Skip], c[NA], c[Waived])
	}
	return fmt.Sprintf("%d check(s) passed, none failed", c[Pass])
}

// Verdict of the whole run: the worst of its targets.
func (r *Run) Verdict() Verdict {
	v := Certified
	if len(r.Targets) == 0 {
		return Incomplete
	}
	for _, t := range r.Targets {
		switch t.Verdict(r.Complete) {
		case NotCertified:
			return NotCertified
		case Incomplete:
			v = Incomplete
		}
	}
	return v
}
