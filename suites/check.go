// Package suites holds the check catalog: the registry, the T helper a check
// runs with, and the expectation profiles that carry per-hypervisor expected
// values. Area packages (suites/platform, suites/clock, ...) register their
// checks in init(); suites/all imports every area.
package suites

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Check is one certification check.
type Check struct {
	ID       string // stable, dotted: "clock.offset"
	Area     string // "platform", "drivers", "clock", "network", "disk", "lifecycle", "console", "hyperv"
	Priority int    // 1 = must pass to certify ... 3 = informational
	Title    string
	// Doc says what the check proves and how, for `virtcert checks`.
	Doc string
	// Applies restricts the check to hypervisors and guest OS families.
	// Empty slices mean "all".
	Hypervisors []string // "kvm", "qemu", "hyperv"
	OS          []string // "linux", "windows"
	// Needs lists requirements: NeedPeer, or a capability name of the
	// guest's driver (drivers.CapDiskHotplug, "KVP"...). The runner
	// enforces each: a missing one makes the check SKIP with the reason
	// (a peer that could not be provisioned makes it ERROR).
	Needs []string
	// Disruptive checks change guest state (reboot, link down, save); the
	// runner orders them after the non-disruptive ones.
	Disruptive bool
	// Keys lists the profile keys the check reads (T.Float/String/Strings).
	// When set, reading any other key is a harness ERROR, and profile
	// validation proves every applicable profile sets them all.
	Keys []string
	// Fault is the guest fault the check exists to catch and the tests
	// that prove it FAILs on it (required for priority 1 and 2).
	Fault   Fault
	Timeout time.Duration
	// Waits lists the profile keys (in seconds) the check may wait out
	// one after another (a reboot's limit, then a restart's). Profile
	// validation proves they fit in Timeout with a minute to spare, so a
	// guest that overruns them FAILs on its own limit rather than the
	// check ERRORing on its timeout first.
	Waits []string
	Run   func(t *T)
	// Reads lists the guest commands the check runs that only read (the
	// exact text it passes to T.Run). A check that declares them is
	// read-only: it changes nothing and measures nothing, so its commands
	// are gathered with its neighbours' in one round trip and served from
	// that snapshot (PrepareSnapshot). A command not listed runs live.
	Reads []string
	// Uses lists what the check uses when it is there and does without
	// otherwise (NeedHelper: the clock checks sample through vcprobe,
	// else through date). Unlike Needs, nothing SKIPs without it; the
	// runner only makes sure it is offered (UsesHelper).
	Uses []string
}

// UsesHelper reports whether c runs the vcprobe helper, needing it or
// using it when it is there: the runner uploads the helper to a guest
// before the first such check, and never to a guest without one.
func UsesHelper(c Check) bool { return Needs(c, NeedHelper) || slices.Contains(c.Uses, NeedHelper) }

// NeedPeer: a second guest on the same network.
const NeedPeer = "peer"

// NeedHelper: the vcprobe helper in the guest (HelperChecks lists the
// checks that SKIP without it).
const NeedHelper = "vcprobe"

// HelperChecks are the IDs of the checks among cs that need the vcprobe
// helper: the ones a run without it SKIPs.
func HelperChecks(cs []Check) []string {
	var ids []string
	for _, c := range cs {
		if Needs(c, NeedHelper) {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

var (
	mu       sync.Mutex
	registry = map[string]Check{}
)

// Register adds a check to the catalog. It panics on a duplicate or
// incomplete registration: both are programming errors.
func Register(c Check) {
	mu.Lock()
	defer mu.Unlock()
	if c.ID == "" || c.Area == "" || c.Run == nil || c.Timeout <= 0 || c.Title == "" {
		panic(fmt.Sprintf("suites: incomplete check registration %q", c.ID))
	}
	if c.Disruptive && len(c.Reads) > 0 {
		panic("suites: disruptive check " + c.ID + " declares Reads (only read-only checks may be served from a snapshot)")
	}
	if _, dup := registry[c.ID]; dup {
		panic("suites: duplicate check " + c.ID)
	}
	if _, described := faults[c.ID]; described && c.Fault.What != "" {
		panic("suites: check " + c.ID + " carries its own Fault and is described again")
	}
	registry[c.ID] = c
}

// All returns the catalog ordered by area, then disruptive last, then ID.
func All() []Check {
	mu.Lock()
	defer mu.Unlock()
	out := make([]Check, 0, len(registry))
	for _, c := range registry {
		out = append(out, withFault(c))
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Disruptive != b.Disruptive {
			return !a.Disruptive
		}
		if a.Area != b.Area {
			return areaRank(a.Area) < areaRank(b.Area)
		}
		return a.ID < b.ID
	})
	return out
}

// Lookup returns the check with id.
func Lookup(id string) (Check, bool) {
	mu.Lock()
	defer mu.Unlock()
	c, ok := registry[id]
	return withFault(c), ok
}

var areas = []string{"platform", "drivers", "clock", "network", "disk", "lifecycle", "console", "hyperv", "windows"}

// Areas lists the check areas in catalog order (a plan may select an area
// that has no registered check yet, e.g. "windows").
func Areas() []string { return slices.Clone(areas) }

func areaRank(a string) int {
	if i := slices.Index(areas, a); i >= 0 {
		return i
	}
	return len(areas)
}

// AppliesTo reports whether c applies to a hypervisor and OS, and if not,
// a reason for the SKIP.
func (c Check) AppliesTo(hypervisor, os string) (bool, string) {
	why := NotApplicable(c, hypervisor, os)
	return why == "", why
}

// NotApplicable is why c does not apply to a guest of that OS on that
// hypervisor ("not for kvm guests (hyperv only)"), "" when it applies.
// Such a check is N/A, not SKIP: in the results, the reports and `plan
// check` alike (resolve.NotFor prefixes the same words with "n/a: ").
func NotApplicable(c Check, hypervisor, os string) string {
	if len(c.OS) > 0 && !slices.Contains(c.OS, os) {
		return NotFor(os+" guests", c.OS)
	}
	if len(c.Hypervisors) > 0 && !slices.Contains(c.Hypervisors, hypervisor) {
		return NotFor(GuestsOn(hypervisor), c.Hypervisors)
	}
	return ""
}

// GuestsOn names the guests of hosts reporting one of hypervisors:
// "kvm/qemu guests", or "guests of an unknown hypervisor" for a host
// that cannot tell (the existing driver's "unknown").
func GuestsOn(hypervisors ...string) string {
	if len(hypervisors) == 1 && hypervisors[0] == "unknown" {
		return "guests of an unknown hypervisor"
	}
	return strings.Join(hypervisors, "/") + " guests"
}

// NotFor is the one wording of a check that does not apply: "not for
// WHAT (ONLY only)", e.g. "not for linux guests (windows only)".
func NotFor(what string, only []string) string {
	return fmt.Sprintf("not for %s (%s only)", what, strings.Join(only, "/"))
}

// Needs reports whether c declares need.
func Needs(c Check, need string) bool { return slices.Contains(c.Needs, need) }
