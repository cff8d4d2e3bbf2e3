package drivers

import (
	"fmt"
	"sort"
	"sync"
)

// Driver is one host driver's registration (after database/sql): its
// name, the grammar of its URIs, the expectation profile a host gets by
// default, and how to open it. Each driver registers itself in its own
// package's init; drivers/all imports every driver built into virtcert,
// so no package outside drivers/ names one.
type Driver struct {
	// Name is the plan's "driver:" value ("libvirt").
	Name string
	// Open connects to a host.
	Open Opener
	// CheckURI validates an expanded uri for this driver and reports
	// whether it names this machine (so image paths can be checked on
	// this file system). Its error text is shown to the user as is.
	CheckURI func(uri string) (local bool, err error)
	// DefaultProfile names the built-in expectation profile for a host of
	// this driver, from what the host reported and the plan's driver
	// options; it must not return "" (an unknown hypervisor gets an
	// explicit profile, never a silent guess).
	DefaultProfile func(info HostInfo, options map[string]string) string
	// Transport is how checks reach this driver's guests ("ssh").
	Transport string
	// Attaches: the driver reaches machines that already run (no image
	// is provisioned, so a plan's image needs no path).
	Attaches bool
	// Capabilities are the optional capabilities (capability names, see
	// CapabilitiesOf) every guest of this driver has. The conformance
	// suite (drivertest) fails when a guest lacks a declared one or has
	// one that is not declared, and exercises each.
	Capabilities []string
	// Hypervisors are the values HostInfo.Hypervisor takes for this
	// driver's hosts (empty: not known before the host is open). A dry
	// run marks checks for other hypervisors n/a from them; the
	// conformance suite holds the driver to them.
	Hypervisors []string
	// HostCapabilities are the optional capabilities its Host has
	// (HostResources); drivertest holds the host to them and exercises
	// each.
	HostCapabilities []string
}

var (
	regMu    sync.Mutex
	registry = map[string]Driver{}
)

// Register adds a driver. It panics on an incomplete or duplicate
// registration: both are programming errors.
func Register(d Driver) {
	regMu.Lock()
	defer regMu.Unlock()
	if d.Name == "" || d.Open == nil || d.CheckURI == nil || d.DefaultProfile == nil {
		panic(fmt.Sprintf("drivers: incomplete registration %q", d.Name))
	}
	if _, dup := registry[d.Name]; dup {
		panic("drivers: duplicate driver " + d.Name)
	}
	if d.Transport == "" {
		d.Transport = "ssh"
	}
	registry[d.Name] = d
}

// Lookup returns the registered driver called name.
func Lookup(name string) (Driver, bool) {
	regMu.Lock()
	defer regMu.Unlock()
	d, ok := registry[name]
	return d, ok
}

// Names lists the registered drivers, sorted.
func Names() []string {
	regMu.Lock()
	defer regMu.Unlock()
	ns := make([]string, 0, len(registry))
	for n := range registry {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// Openers returns the Open function of every registered driver by name.
func Openers() map[string]Opener {
	regMu.Lock()
	defer regMu.Unlock()
	m := make(map[string]Opener, len(registry))
	for n, d := range registry {
		m[n] = d.Open
	}
	return m
}
