package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Flags are the one-off run flags of `virtcert run` without a plan file.
type Flags struct {
	Driver, URI, Image, Kernel, Initrd, Cmdline, User, Format, OS string
	MemoryMB, CPUs                                                int
	Suites, Exclude                                               []string
	Parallel                                                      int
}

// Fallback names of the generated host and image in a one-off plan, when
// OneOffNames finds nothing better.
const (
	FlagHost  = "host"
	FlagImage = "image"
)

// OneOffNames names a one-off run's host and image so its target reads
// "<image base name> on <host or driver>": the image file's base name
// without its extension ("debian-12"), and the URI's host name, a URI
// alias such as "lab", or else the driver ("libvirt"). A name the plan
// grammar would refuse falls back to FlagHost or FlagImage.
func OneOffNames(f Flags) (host, image string) {
	host, image = FlagHost, FlagImage
	if b := filepath.Base(f.Image); f.Image != "" {
		if n := planName(strings.TrimSuffix(b, filepath.Ext(b))); n != "" {
			image = n
		}
	}
	h := f.URI
	if u, err := url.Parse(f.URI); err == nil && u.Scheme != "" {
		h = u.Hostname()
	}
	for _, n := range []string{h, f.Driver} {
		if n = planName(n); n != "" {
			return n, image
		}
	}
	return host, image
}

// planName makes s a valid plan name (letters, digits, "_.-", at most 40,
// starting with a letter or digit), "" when nothing is left.
func planName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 128 && (r == '_' || r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '-'
	}, s)
	s = strings.Trim(s, "_.-")
	if len(s) > 40 {
		s = s[:40]
	}
	if !nameRE.MatchString(s) {
		return ""
	}
	return s
}

// FromFlags builds and validates a one-element plan from flags. Errors name
// the flag ("--image: /x.qcow2: no such file or directory").
func FromFlags(f Flags, k Knowledge) (*Plan, error) {
	if f.Driver == "" {
		f.Driver = DefaultDriver
	}
	hn, in := OneOffNames(f)
	p := &Plan{
		Name:   "one-off",
		Hosts:  map[string]*Host{hn: {Driver: f.Driver, URI: f.URI}},
		Images: map[string]*Image{in: {Path: f.Image, Kernel: f.Kernel, Initrd: f.Initrd, Cmdline: f.Cmdline, User: f.User, Format: f.Format, OS: f.OS, MemoryMB: f.MemoryMB, CPUs: f.CPUs}},
		Suites: f.Suites, Exclude: f.Exclude, Parallel: f.Parallel,
	}
	present := map[string]int{}
	if f.MemoryMB != 0 {
		present["images."+in+".memory_mb"] = 0
	}
	if f.CPUs != 0 {
		present["images."+in+".cpus"] = 0
	}
	if f.Parallel != 0 {
		present["parallel"] = 0
	}
	wd, _ := os.Getwd()
	v := &validator{lines: map[string]int{}, present: present, base: wd, know: k, flags: map[string]string{"parallel": "--parallel"}}
	for field, flag := range map[string]string{"driver": "--driver", "uri": "--uri"} {
		v.flags["hosts."+hn+"."+field] = flag
	}
	for field, flag := range map[string]string{"path": "--image", "kernel": "--kernel", "initrd": "--initrd", "cmdline": "--cmdline",
		"user": "--user", "format": "--format", "os": "--os", "memory_mb": "--memory", "cpus": "--cpus"} {
		v.flags["images."+in+"."+field] = flag
	}
	for i := range f.Suites {
		v.flags[fmt.Sprintf("suites[%d]", i)] = "--checks"
	}
	for i := range f.Exclude {
		v.flags[fmt.Sprintf("exclude[%d]", i)] = "--exclude"
	}
	for flag, val := range map[string]string{"--driver": f.Driver, "--uri": f.URI, "--image": f.Image, "--kernel": f.Kernel,
		"--initrd": f.Initrd, "--cmdline": f.Cmdline, "--user": f.User, "--format": f.Format, "--os": f.OS} {
		if msg := checkScalar(flag, val); msg != "" {
			return nil, Errors{{Field: flag, Message: msg}}
		}
	}
	v.validate(p)
	if len(v.errs) > 0 {
		return nil, v.errs
	}
	b, err := yaml.Marshal(p)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	p.SHA256 = hex.EncodeToString(sum[:])
	p.Path = "(flags)"
	return p, nil
}

// Resolved renders the plan as validated (defaults applied, paths
// absolute, "lab" resolved) so a run directory holds what ran, for
// --resume. A uri naming ${VAR}s is saved as written, unexpanded: the
// environment's values stay out of the run directory (--resume expands
// them again). It holds no secrets: the plan refuses them.
func (p *Plan) Resolved() ([]byte, error) {
	out := *p
	out.Hosts = make(map[string]*Host, len(p.Hosts))
	for name, h := range p.Hosts {
		c := *h
		if c.written != "" {
			c.URI = c.written
		}
		out.Hosts[name] = &c
	}
	var n yaml.Node
	if err := n.Encode(&out); err != nil {
		return nil, err
	}
	prune(&n)
	return yaml.Marshal(&n)
}

// prune drops empty values (zero numbers, "", false, 0s) from mappings, so
// the resolved plan reads like a hand-written one and loads again (an
// explicit "check: 0s" would be rejected).
func prune(n *yaml.Node) {
	if n.Kind == yaml.MappingNode {
		var keep []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			v := n.Content[i+1]
			if v.Kind == yaml.ScalarNode && (v.Value == "" || (v.Style == 0 && (v.Value == "0" || v.Value == "0s" || v.Value == "false"))) {
				continue
			}
			if (v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode) && len(v.Content) == 0 {
				continue
			}
			keep = append(keep, n.Content[i], v)
		}
		n.Content = keep
	}
	for _, c := range n.Content {
		prune(c)
	}
}
