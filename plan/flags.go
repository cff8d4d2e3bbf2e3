package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
)

// Flags are the one-off run flags of `virtcert run` without a plan file.
type Flags struct {
	Driver, URI, Image, Kernel, Initrd, Cmdline, User, Format, OS string
	MemoryMB, CPUs                                                int
	Suites, Exclude                                               []string
	Parallel                                                      int
}

// Names of the generated host and image in a one-off plan.
const (
	FlagHost  = "host"
	FlagImage = "image"
)

// FromFlags builds and validates a one-element plan from flags. Errors name
// the flag ("--image: /x.qcow2: no such file or directory").
func FromFlags(f Flags, k Knowledge) (*Plan, error) {
	if f.Driver == "" {
		f.Driver = DefaultDriver
	}
	p := &Plan{
		Name:   "one-off",
		Hosts:  map[string]*Host{FlagHost: {Driver: f.Driver, URI: f.URI}},
		Images: map[string]*Image{FlagImage: {Path: f.Image, Kernel: f.Kernel, Initrd: f.Initrd, Cmdline: f.Cmdline, User: f.User, Format: f.Format, OS: f.OS, MemoryMB: f.MemoryMB, CPUs: f.CPUs}},
		Suites: f.Suites, Exclude: f.Exclude, Parallel: f.Parallel,
	}
	present := map[string]int{}
	if f.MemoryMB != 0 {
		present["images.image.memory_mb"] = 0
	}
	if f.CPUs != 0 {
		present["images.image.cpus"] = 0
	}
	if f.Parallel != 0 {
		present["parallel"] = 0
	}
	wd, _ := os.Getwd()
	v := &validator{lines: map[string]int{}, present: present, base: wd, know: k, flags: map[string]string{
		"hosts.host.driver": "--driver", "hosts.host.uri": "--uri",
		"images.image.path": "--image", "images.image.kernel": "--kernel", "images.image.initrd": "--initrd",
		"images.image.cmdline": "--cmdline", "images.image.user": "--user", "images.image.format": "--format",
		"images.image.os": "--os", "images.image.memory_mb": "--memory", "images.image.cpus": "--cpus",
		"parallel": "--parallel",
	}}
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
