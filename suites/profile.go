package suites

import (
	"bytes"
	"embed"
	"fmt"
	"math"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/virtcert/virtcert/reports"
)

// Profile is an expectation profile: the expected values and tolerances
// for one platform, as data. Built-in profiles live in suites/profiles/*.yaml;
// users override any value with their own file (plan: profile_overrides).
type Profile struct {
	Name        string `yaml:"name"`
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
	// Hypervisor is what the guest should detect ("kvm", "qemu", "microsoft").
	Hypervisor string `yaml:"hypervisor"`
	// Host is the host hypervisor the profile is for, as HostInfo names it
	// ("kvm", "qemu", "hyperv"); it decides which checks apply when the
	// profile is validated.
	Host string `yaml:"host"`
	// Checks maps check ID to its values. The reserved key "skip" makes the
	// check SKIP on this platform with its value as the reason.
	Checks map[string]map[string]any `yaml:"checks"`
	// Source says where the profile came from (built-in or a path).
	Source string `yaml:"-"`
}

// Built-in profiles live in suites/profiles/<name>/*.yaml. profile.yaml
// carries name, title and hypervisor; each area keeps its values in its own
// file (clock.yaml, network.yaml...) so areas evolve independently. The
// files of one directory are merged; a check ID set twice is an error.
//
//go:embed profiles
var builtin embed.FS

// BuiltinProfiles returns the profiles shipped with virtcert, by name.
func BuiltinProfiles() (map[string]*Profile, error) {
	dirs, err := builtin.ReadDir("profiles")
	if err != nil {
		return nil, err
	}
	out := map[string]*Profile{}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		files, err := builtin.ReadDir(path.Join("profiles", d.Name()))
		if err != nil {
			return nil, err
		}
		merged := &Profile{Checks: map[string]map[string]any{}, Source: "builtin:" + d.Name()}
		for _, f := range files {
			if !strings.HasSuffix(f.Name(), ".yaml") {
				continue
			}
			src := path.Join("profiles", d.Name(), f.Name())
			b, err := builtin.ReadFile(src)
			if err != nil {
				return nil, err
			}
			// Unknown check IDs are not rejected here: a binary may
			// register only some areas. Validate checks them.
			p, err := parseProfile(b, "builtin:"+src, false)
			if err != nil {
				return nil, err
			}
			if err := merged.merge(p); err != nil {
				return nil, err
			}
		}
		if merged.Name == "" {
			merged.Name = d.Name()
		}
		out[merged.Name] = merged
	}
	return out, nil
}

func (p *Profile) merge(o *Profile) error {
	for _, f := range []struct {
		dst *string
		src string
	}{{&p.Name, o.Name}, {&p.Title, o.Title}, {&p.Description, o.Description}, {&p.Hypervisor, o.Hypervisor}, {&p.Host, o.Host}} {
		if f.src != "" {
			*f.dst = f.src
		}
	}
	for id, kv := range o.Checks {
		if _, dup := p.Checks[id]; dup {
			return fmt.Errorf("profile %s: check %s set in two files", p.Name, id)
		}
		p.Checks[id] = kv
	}
	return nil
}

// ParseProfile decodes a complete profile (or override file) strictly.
func ParseProfile(b []byte, source string) (*Profile, error) {
	p, err := parseProfile(b, source, true)
	if err == nil && p.Name == "" {
		return nil, fmt.Errorf("profile %s: name is required", source)
	}
	return p, err
}

func parseProfile(b []byte, source string, checkKnown bool) (*Profile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("profile %s: %w", source, err)
	}
	for id := range p.Checks {
		if _, ok := Lookup(id); checkKnown && !ok && len(registry) > 0 {
			return nil, fmt.Errorf("profile %s: unknown check %q", source, id)
		}
	}
	p.Source = source
	return &p, nil
}

// LoadProfileFile reads a profile (or override) file from disk.
func LoadProfileFile(file string) (*Profile, error) {
	b, err := reports.ReadFileLimited(file, reports.MaxInputFileBytes)
	if err != nil {
		return nil, err
	}
	return ParseProfile(b, file)
}

// Override returns a copy of p with every value in o laid over it.
func (p *Profile) Override(o *Profile) *Profile {
	n := *p
	n.Checks = map[string]map[string]any{}
	for id, kv := range p.Checks {
		n.Checks[id] = map[string]any{}
		for k, v := range kv {
			n.Checks[id][k] = v
		}
	}
	for id, kv := range o.Checks {
		if n.Checks[id] == nil {
			n.Checks[id] = map[string]any{}
		}
		for k, v := range kv {
			n.Checks[id][k] = v
		}
	}
	if o.Hypervisor != "" {
		n.Hypervisor = o.Hypervisor
	}
	n.Source = p.Source + " + " + o.Source
	return &n
}

// SkipReason returns the profile's reason to skip check id, or "".
func (p *Profile) SkipReason(id string) string {
	if p == nil {
		return ""
	}
	if s, ok := p.Checks[id]["skip"].(string); ok && s != "" {
		return "profile " + p.Name + ": " + s
	}
	return ""
}

func (p *Profile) value(id, key string) (any, error) {
	if p == nil {
		return nil, fmt.Errorf("no profile")
	}
	v, ok := p.Checks[id][key]
	if !ok {
		return nil, fmt.Errorf("profile %s has no value %s.%s", p.Name, id, key)
	}
	return v, nil
}

// Has reports whether the profile sets key for check id.
func (p *Profile) Has(id, key string) bool {
	_, err := p.value(id, key)
	return err == nil
}

// Float returns a number.
func (p *Profile) Float(id, key string) (float64, error) {
	v, err := p.value(id, key)
	if err != nil {
		return 0, err
	}
	switch n := v.(type) {
	case int:
		return float64(n), nil
	case float64:
		return n, nil
	}
	return 0, fmt.Errorf("profile %s: %s.%s is %T, want a number", p.Name, id, key, v)
}

// String returns a string.
func (p *Profile) String(id, key string) (string, error) {
	v, err := p.value(id, key)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("profile %s: %s.%s is %T, want a string", p.Name, id, key, v)
	}
	return s, nil
}

// Strings returns a list of strings (a single string is a one-item list).
func (p *Profile) Strings(id, key string) ([]string, error) {
	v, err := p.value(id, key)
	if err != nil {
		return nil, err
	}
	switch l := v.(type) {
	case string:
		return []string{l}, nil
	case []any:
		out := make([]string, 0, len(l))
		for _, x := range l {
			out = append(out, fmt.Sprint(x))
		}
		return out, nil
	}
	return nil, fmt.Errorf("profile %s: %s.%s is %T, want a list", p.Name, id, key, v)
}

// Describe renders the profile's values for one check, for evidence.
func (p *Profile) Describe(id string) string {
	kv := p.Checks[id]
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%v ", k, kv[k])
	}
	return strings.TrimSpace(b.String())
}

// Validate checks p against the catalog: every check the profile names
// exists, and every check that applies to the profile's host and is not
// skipped by it finds every key it declares (Check.Keys). It returns one
// error listing every problem.
func (p *Profile) Validate(checks []Check) error {
	var probs []string
	known := map[string]bool{}
	for _, c := range checks {
		known[c.ID] = true
		if !p.judges(c) {
			continue
		}
		for _, k := range c.Keys {
			if !p.Has(c.ID, k) {
				probs = append(probs, fmt.Sprintf("%s.%s missing", c.ID, k))
			}
		}
	}
	probs = append(probs, p.WaitProblems(checks)...)
	for id := range p.Checks {
		if !known[id] {
			probs = append(probs, "unknown check "+id)
		}
	}
	sort.Strings(probs)
	if len(probs) > 0 {
		return fmt.Errorf("profile %s: %s", p.Name, strings.Join(probs, "; "))
	}
	return nil
}

// waitSpare is what a check needs beyond its waits: its commands, the
// host's calls, the re-dials.
const waitSpare = time.Minute

// judges reports whether c applies to the profile's host (for some guest
// OS) and the profile does not skip it.
func (p *Profile) judges(c Check) bool {
	ok, _ := c.AppliesTo(p.Host, "linux")
	if !ok {
		ok, _ = c.AppliesTo(p.Host, "windows")
	}
	return ok && p.SkipReason(c.ID) == ""
}

// WaitProblems lists the checks among checks that apply to the profile's
// host, are not skipped by it, and whose waits do not fit their timeout.
func (p *Profile) WaitProblems(checks []Check) []string {
	var probs []string
	for _, c := range checks {
		if !p.judges(c) {
			continue
		}
		if prob := p.waitsFit(c); prob != "" {
			probs = append(probs, prob)
		}
	}
	return probs
}

// maxWait bounds a wait (seconds): a week, far beyond any check's need,
// and well inside time.Duration.
const maxWait = 7 * 24 * 3600

func badWaits(c Check, keys []string) string {
	return fmt.Sprintf("%s waits %s: not a number of seconds from 0 to a week", c.ID, strings.Join(keys, ", "))
}

// WaitValueProblems lists the checks among checks whose waits in this
// profile are not numbers of seconds (a run could not grant them time).
func (p *Profile) WaitValueProblems(checks []Check) []string {
	var probs []string
	for _, c := range checks {
		if !p.judges(c) {
			continue
		}
		if _, bad := p.waits(c, 0); len(bad) > 0 {
			probs = append(probs, badWaits(c, bad))
		}
	}
	return probs
}

// WaitsOver lists the checks among checks (that apply to the profile's
// host and that it does not skip) whose wait budget (WaitBudget, before
// any boot scaling) exceeds limit: a whole run bounded by limit would be
// cut inside such a check.
func (p *Profile) WaitsOver(checks []Check, limit time.Duration) []string {
	var probs []string
	for _, c := range checks {
		if !p.judges(c) {
			continue
		}
		if b := p.WaitBudget(c, 0); b > limit { // 0 for a check without waits
			probs = append(probs, fmt.Sprintf("%s may wait %s (its waits %s plus a minute), longer than the whole run's %s", c.ID, b, strings.Join(c.Waits, " + "), limit))
		}
	}
	return probs
}

// waitsFit returns a problem when c's waits (Check.Waits) in this profile
// add up to more than c.Timeout leaves after waitSpare. A run grants such
// a check the time anyway (WaitBudget); this keeps the catalog's own
// timeouts honest for the built-in profiles.
func (p *Profile) waitsFit(c Check) string {
	if len(c.Waits) == 0 || c.Timeout <= 0 {
		return ""
	}
	if _, bad := p.waits(c, 0); len(bad) > 0 {
		return badWaits(c, bad)
	}
	if b := p.WaitBudget(c, 0); b > c.Timeout {
		return fmt.Sprintf("%s waits %s (%s) plus %s, more than its %s timeout", c.ID,
			b-waitSpare, strings.Join(c.Waits, " + "), waitSpare, c.Timeout)
	}
	return ""
}

// waits adds up c's waits (Check.Waits) in this profile for a guest that
// booted in boot seconds: a check that scales its limits (it declares
// boot_factor, see suites/lifecycle's Limit) may wait boot_factor × boot
// where that is longer than the fixed limit. A key whose value is missing
// or not a number is named in bad.
func (p *Profile) waits(c Check, boot float64) (sum time.Duration, bad []string) {
	factor := 0.0
	if slices.Contains(c.Keys, "boot_factor") {
		factor, _ = p.Float(c.ID, "boot_factor")
	}
	for _, k := range c.Waits {
		v, err := p.Float(c.ID, k)
		if err != nil || math.IsNaN(v) || v < 0 || v > maxWait {
			bad = append(bad, k)
			continue
		}
		sum += time.Duration(max(v, factor*boot) * float64(time.Second))
	}
	return sum, bad
}

// WaitBudget is the time c needs to wait out every limit it may wait in
// this profile, for a guest that booted in boot seconds, plus waitSpare
// for its commands; 0 when it declares no waits.
func (p *Profile) WaitBudget(c Check, boot float64) time.Duration {
	if p == nil || len(c.Waits) == 0 {
		return 0
	}
	sum, _ := p.waits(c, boot)
	return sum + waitSpare
}
