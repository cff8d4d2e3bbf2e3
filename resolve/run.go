// Package resolve resolves a validated plan into a Run, once, before anything
// is provisioned: every target with its driver, transport, expectation
// profile, timeouts and the checks it will run (and those left out, with
// the reason). The runner and `virtcert run --dry-run` read the Run,
// never the raw plan. Package resolve is also where what the drivers and the
// check catalog know is applied to a plan (Knowledge): package plan
// imports neither.
package resolve

import (
	"fmt"
	"slices"
	"strings"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
)

// Run is a resolved plan.
type Run struct {
	Name       string        `json:"name"`
	PlanPath   string        `json:"plan_path"`
	PlanSHA256 string        `json:"plan_sha256"`
	Parallel   int           `json:"parallel"`
	Timeouts   plan.Timeouts `json:"timeouts"`
	// PeerMode is the plan's peer: provision, none or HOST/IMAGE.
	PeerMode string `json:"peer"`
	// ProfileOverrides, Waivers and ConsoleAllow are files (absolute).
	ProfileOverrides string `json:"profile_overrides,omitempty"`
	Waivers          string `json:"waivers,omitempty"`
	ConsoleAllow     string `json:"console_allow,omitempty"`
	// Collect is when guest diagnostics are saved (plan.Collect*).
	Collect string    `json:"collect,omitempty"`
	Targets []*Target `json:"targets"`
	// Hosts are the validated host entries by name (the runner opens
	// them; a peer may live on a host of its own).
	Hosts map[string]*plan.Host `json:"-"`
	// Agreement is the measurement mode (plan agreement, run --agreement).
	Agreement bool `json:"agreement,omitempty"`
	// ShardInfo is set by Shard (run --shard i/n).
	ShardInfo *reports.Shard `json:"shard,omitempty"`

	plan    *plan.Plan
	catalog []suites.Check
	// narrowed: the flags (Options) narrowed the plan's selection to
	// selected, which PlanYAML then writes as the plan's suites.
	narrowed bool
	selected []string
}

// Target is one host × image pair, resolved.
type Target struct {
	ID      string `json:"id"`
	Host    string `json:"host"`
	Image   string `json:"image"`
	Compare string `json:"compare_as,omitempty"`
	Driver  string `json:"driver"`
	URI     string `json:"uri"`
	// Transport is how checks reach the guest ("ssh").
	Transport string `json:"transport"`
	OS        string `json:"os"`
	// Profile is the expectation profile; ProfileAuto when the driver
	// picks it from what the host reports once opened.
	Profile string `json:"profile"`
	// Checks are the IDs of the selected checks, in run order.
	Checks []string `json:"checks"`
	// LeftOut are the catalog's checks that will not run, each with its
	// kind and reason (not selected; n/a for this hypervisor or OS; SKIP
	// for a capability the driver lacks), in catalog order.
	LeftOut []LeftOut `json:"left_out"`
	// Peer is the second guest two-guest checks use (nil: none needed).
	Peer *Peer `json:"peer,omitempty"`

	HostSpec  *plan.Host     `json:"-"`
	ImageSpec *plan.Image    `json:"-"`
	Selected  []suites.Check `json:"-"`
	Reg       drivers.Driver `json:"-"`
}

// ProfileAuto marks a profile the driver picks once the host is open.
const ProfileAuto = "auto"

// LeftOut is a check that will not run and why.
type LeftOut struct {
	Check string `json:"check"`
	// Kind is KindNotSelected, KindNA or KindSkip.
	Kind string `json:"kind"`
	// Reason starts with the kind ("n/a: not for linux guests (windows
	// only)").
	Reason string `json:"reason"`
}

// Peer is a target's peer guest: Host/Image to provision, or Why not.
type Peer struct {
	Host  string `json:"host,omitempty"`
	Image string `json:"image,omitempty"`
	Why   string `json:"why_none,omitempty"`

	HostSpec  *plan.Host  `json:"-"`
	ImageSpec *plan.Image `json:"-"`
}

// Options narrow the selection further than the plan (CLI flags).
type Options struct {
	// Catalog is the check catalog (default suites.All()).
	Catalog       []suites.Check
	Only, Exclude []string
	// Priority keeps checks of this priority or a more urgent one (0: all).
	Priority int
}

// Resolve turns a validated plan into a Run. Its error is bad input (no
// check selected, a driver that is not registered).
func Resolve(p *plan.Plan, o Options) (*Run, error) {
	if o.Catalog == nil {
		o.Catalog = suites.All()
	}
	r := &Run{Name: p.Name, PlanPath: p.Path, PlanSHA256: p.SHA256, Parallel: p.Parallel, Timeouts: p.Timeouts,
		PeerMode: p.Peer, ProfileOverrides: p.ProfileOverrides, Waivers: p.Waivers, ConsoleAllow: p.ConsoleAllow,
		Collect: p.Collect, Hosts: p.Hosts, Agreement: p.Agreement, plan: p, catalog: o.Catalog}
	sel, left := selectChecks(o.Catalog, p, o)
	r.narrowed = len(o.Only) > 0 || len(o.Exclude) > 0 || o.Priority > 0
	for _, c := range sel {
		r.selected = append(r.selected, c.ID)
	}
	if len(sel) == 0 {
		return nil, drivers.Errorf(drivers.ClassInput, "checks", "no checks selected: %s leave none of the %d in the catalog (see `virtcert checks`)",
			strings.Join(selectors(p, o), " and "), len(o.Catalog))
	}
	for _, pr := range p.Targets() {
		t, err := r.target(p, pr, sel, left)
		if err != nil {
			return nil, err
		}
		r.Targets = append(r.Targets, t)
	}
	return r, nil
}

// PlanYAML is the validated plan as YAML (saved in the run directory for
// --resume). When --checks, --exclude or --priority narrowed the plan's
// selection, its suites are the checks selected, by ID: a resumed run
// runs what the interrupted one was asked to, not the whole plan.
func (r *Run) PlanYAML() ([]byte, error) {
	if !r.narrowed {
		return r.plan.Resolved()
	}
	p := *r.plan
	p.Suites = slices.Clone(r.selected)
	return p.Resolved()
}

func (r *Run) target(p *plan.Plan, pr plan.Pair, sel []suites.Check, left []LeftOut) (*Target, error) {
	h, img := p.Hosts[pr.Host], p.Images[pr.Image]
	reg, ok := drivers.Lookup(h.Driver)
	if !ok {
		return nil, drivers.Errorf(drivers.ClassInput, "hosts."+pr.Host+".driver", "driver %q is not built into this virtcert", h.Driver)
	}
	if reg.Attaches && img.OS == "windows" {
		// WinRM needs the machine's certificate pin and admin password,
		// which only a seed the harness wrote gives it today.
		return nil, drivers.Errorf(drivers.ClassInput, "images."+pr.Image+".os", "driver %s cannot reach a Windows machine that already runs (no WinRM certificate pin or password for it); provision the image with a driver that boots it", h.Driver)
	}
	t := &Target{ID: pr.ID(), Host: pr.Host, Image: pr.Image, Compare: img.CompareAs, Driver: h.Driver, URI: h.URI,
		Transport: TransportFor(img.OS, reg.Transport), OS: img.OS, Profile: h.Profile, HostSpec: h, ImageSpec: img, Reg: reg}
	if t.Profile == "" {
		t.Profile = ProfileAuto
	}
	notRun := map[string]LeftOut{}
	for _, l := range left {
		notRun[l.Check] = l
	}
	needPeer := false
	for _, c := range sel {
		t.Selected = append(t.Selected, c)
		// What the driver's registration tells before the host is open;
		// the runner judges again with what the host reports.
		if why := NotFor(c, reg.Hypervisors, img.OS); why != "" {
			notRun[c.ID] = LeftOut{Check: c.ID, Kind: KindNA, Reason: why}
			continue
		}
		if why := Lacks(c, h.Driver, reg.Capabilities); why != "" {
			notRun[c.ID] = LeftOut{Check: c.ID, Kind: KindSkip, Reason: why}
			continue
		}
		t.Checks = append(t.Checks, c.ID)
		needPeer = needPeer || (suites.Needs(c, suites.NeedPeer))
	}
	t.LeftOut = leftOutInOrder(r.catalog, notRun)
	if needPeer {
		t.Peer = r.peer(pr)
		t.Peer.HostSpec, t.Peer.ImageSpec = p.Hosts[t.Peer.Host], p.Images[t.Peer.Image]
	}
	return t, nil
}

func (r *Run) peer(pr plan.Pair) *Peer {
	switch r.PeerMode {
	case plan.PeerNone:
		return &Peer{Why: "plan sets peer: none"}
	case plan.PeerProvision, "":
		return &Peer{Host: pr.Host, Image: pr.Image}
	}
	h, i, _ := strings.Cut(r.PeerMode, "/")
	return &Peer{Host: h, Image: i}
}

// selectChecks picks the catalog's checks by the plan's suites, exclude
// and priority, then the flags', in catalog order; left are the others
// with the reason.
func selectChecks(catalog []suites.Check, p *plan.Plan, o Options) (sel []suites.Check, left []LeftOut) {
	for _, c := range catalog {
		var l LeftOut
		switch {
		case len(p.Suites) > 0 && !Match(c, p.Suites):
			l = notSelected("not in the plan's suites")
		case Match(c, p.Exclude):
			l = notSelected("excluded by the plan")
		case p.Priority > 0 && c.Priority > p.Priority:
			l = notSelected("priority %d (the plan's priority: %d)", c.Priority, p.Priority)
		case len(o.Only) > 0 && !Match(c, o.Only):
			l = notSelected("not in --checks")
		case Match(c, o.Exclude):
			l = notSelected("excluded by --exclude")
		case o.Priority > 0 && c.Priority > o.Priority:
			l = notSelected("priority %d (--priority %d)", c.Priority, o.Priority)
		default:
			sel = append(sel, c)
			continue
		}
		l.Check = c.ID
		left = append(left, l)
	}
	return sel, left
}

// selectors describes the selection in force, for the error when it
// leaves nothing.
func selectors(p *plan.Plan, o Options) []string {
	var out []string
	add := func(on bool, format string, args ...any) {
		if on {
			out = append(out, fmt.Sprintf(format, args...))
		}
	}
	add(len(p.Suites) > 0, "the plan's suites %v", p.Suites)
	add(len(p.Exclude) > 0, "the plan's exclude %v", p.Exclude)
	add(p.Priority > 0, "the plan's priority: %d", p.Priority)
	add(len(o.Only) > 0, "--checks %s", strings.Join(o.Only, ","))
	add(len(o.Exclude) > 0, "--exclude %s", strings.Join(o.Exclude, ","))
	add(o.Priority > 0, "--priority %d", o.Priority)
	if len(out) == 0 {
		out = append(out, "the selection")
	}
	return out
}

// leftOutInOrder lists the left-out checks in catalog order.
func leftOutInOrder(catalog []suites.Check, m map[string]LeftOut) []LeftOut {
	out := []LeftOut{}
	for _, c := range catalog {
		if l, ok := m[c.ID]; ok {
			out = append(out, l)
		}
	}
	return out
}

// Match reports whether a selection (areas, check IDs or globs over IDs)
// names c.
func Match(c suites.Check, sel []string) bool {
	return slices.ContainsFunc(sel, func(s string) bool { return Selects(s, c) })
}

// String is a one-line summary.
func (r *Run) String() string {
	return fmt.Sprintf("run of plan %s: %d target(s)", r.Name, len(r.Targets))
}
