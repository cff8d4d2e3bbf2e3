package hyperv

import (
	"cmp"
	"fmt"
	"sort"
	"strings"

	"github.com/virtcert/virtcert/drivers/hyperv"
	"github.com/virtcert/virtcert/suites"
)

// Host is the host side, as drivers/hyperv reports it.
type Host struct {
	// Simulated is true on fixtures/hypervsim; Notes say what is simulated.
	Simulated bool
	Notes     []string
	// Address is the address the harness reached the guest at.
	Address   string
	KVP       map[string]string
	Heartbeat string
	Services  []hyperv.IntegrationService
}

// service returns the host's view of one integration service.
func (h Host) service(name string) (hyperv.IntegrationService, bool) {
	for _, s := range h.Services {
		if strings.EqualFold(s.Canonical(), name) {
			return s, true
		}
	}
	return hyperv.IntegrationService{}, false
}

func describe(s hyperv.IntegrationService) string {
	if !s.Enabled {
		return "disabled"
	}
	d := s.PrimaryStatusDescription
	if d == "" {
		d = "(no status)"
	}
	if s.SecondaryStatusDescription != "" {
		d += " (" + s.SecondaryStatusDescription + ")"
	}
	return d
}

// noVMBus explains a guest without VMBus devices.
func noVMBus(h Host) string {
	s := "no VMBus devices under /sys/bus/vmbus (hv_vmbus not loaded, or the guest is not on Hyper-V)"
	if h.Simulated {
		s += "; the host is simulated (fixtures/hypervsim): the guest runs on QEMU, which has no VMBus"
	}
	return s
}

// vmbusItem judges the VMBus device of kind: present and bound to its driver.
func vmbusItem(v *suites.Verdict, g Guest, h Host, kind string) {
	step := "VMBus " + kindName(kind) + " device bound"
	d, ok := g.device(kind)
	switch {
	case len(g.VMBus) == 0:
		v.Add(step, false, "device bound to hv_utils", noVMBus(h), "", "")
	case !ok:
		v.Add(step, false, "device bound to hv_utils", fmt.Sprintf("no %s device among %d VMBus devices (service disabled on the host?)", kind, len(g.VMBus)), "", "")
	default:
		v.Add(step, d.Driver == d.Want, "bound to "+d.Want, "driver="+cmp.Or(d.Driver, "(none)")+" ("+d.Name+")", "", "")
	}
}

func kindName(kind string) string {
	return map[string]string{"kvp": "Data Exchange (KVP)", "vss": "Backup (VSS)", "fcopy": "Guest services (fcopy)",
		"heartbeat": "Heartbeat", "shutdown": "Shutdown", "timesync": "Time Synchronization"}[kind]
}

func daemonItems(v *suites.Verdict, g Guest, h Host, d daemon) {
	ok, how := g.running(d)
	if !ok && len(g.VMBus) == 0 {
		how += "; " + noVMBus(h)
	}
	v.Add(d.what+" running", ok, strings.Join(d.procs, " or ")+" running", how, "", "")
	node := "/dev/vmbus/" + d.devnode
	has := strings.Contains(g.DevNodes, d.devnode) && !strings.Contains(g.DevNodes, node+": No such file")
	act := node + " present"
	if !has {
		act = node + " missing"
	}
	v.Add(d.what+" device node", has, node+" present", act, "", "")
}

func serviceItem(v *suites.Verdict, h Host, name string) {
	s, ok := h.service(name)
	if !ok {
		v.Add("host: "+name+" integration service", false, "enabled, status OK", "not listed by Get-VMIntegrationService", "", "")
		return
	}
	v.Add("host: "+name+" integration service", s.Enabled && s.StatusOK(), "enabled, status OK", describe(s), "", "")
}

// JudgeKVP: the guest's KVP daemon runs, and the host reads the guest's
// intrinsic items matching what the guest says about itself.
func JudgeKVP(g Guest, h Host) suites.Verdict {
	var v suites.Verdict
	vmbusItem(&v, g, h, "kvp")
	daemonItems(&v, g, h, kvpDaemon)
	pools := strings.Count(g.KVPPool, ".kvp_pool_")
	v.Add("KVP pool files", pools >= 5, "/var/lib/hyperv/.kvp_pool_0..4", fmt.Sprintf("%d pool files", pools), "", "")
	serviceItem(&v, h, "Key-Value Pair Exchange")

	item := func(key, want string, match func(got string) bool) {
		got, ok := h.KVP[key]
		act := got
		if !ok {
			act = "(item absent)"
		}
		v.Add("host KVP "+key, ok && match(got), want, act, "", "")
	}
	short, _, _ := strings.Cut(g.Hostname, ".")
	item("FullyQualifiedDomainName", "the guest's host name "+cmp.Or(g.Hostname, "(none)"), func(got string) bool {
		return g.Hostname != "" && (strings.EqualFold(got, g.Hostname) || strings.EqualFold(strings.SplitN(got, ".", 2)[0], short))
	})
	item("OSName", "os-release NAME "+cmp.Or(g.OS["NAME"], "(none)"), func(got string) bool { return g.OS["NAME"] != "" && got == g.OS["NAME"] })
	item("OSVersion", "kernel release "+cmp.Or(g.Kernel, "(none)"), func(got string) bool { return g.Kernel != "" && got == g.Kernel })
	item("NetworkAddressIPv4", "includes "+cmp.Or(h.Address, "(none)")+" (the address the harness uses)", func(got string) bool {
		for _, a := range strings.Split(got, ";") {
			if strings.TrimSpace(a) == h.Address && h.Address != "" {
				return true
			}
		}
		return false
	})
	return v
}

// okHeartbeats are the heartbeat states of a guest whose heartbeat service
// answers (CHECKS.md: OkApplicationsUnknown or OkApplicationsHealthy).
var okHeartbeats = []string{"OkApplicationsHealthy", "OkApplicationsUnknown"}

// JudgeHeartbeat: the host sees the guest's heartbeat, and the guest has
// the heartbeat device bound.
func JudgeHeartbeat(g Guest, h Host) suites.Verdict {
	var v suites.Verdict
	vmbusItem(&v, g, h, "heartbeat")
	ok := false
	for _, s := range okHeartbeats {
		ok = ok || h.Heartbeat == s
	}
	act := cmp.Or(h.Heartbeat, "(none)")
	if s, found := h.service("Heartbeat"); found && s.SecondaryStatusDescription != "" {
		act += " (" + s.SecondaryStatusDescription + ")"
	}
	v.Add("host: Get-VM Heartbeat", ok, strings.Join(okHeartbeats, " or "), act, "", "")
	serviceItem(&v, h, "Heartbeat")
	return v
}

// JudgeVSS: the guest's VSS daemon runs and the host's VSS service talks
// to it.
func JudgeVSS(g Guest, h Host) suites.Verdict {
	var v suites.Verdict
	vmbusItem(&v, g, h, "vss")
	daemonItems(&v, g, h, vssDaemon)
	serviceItem(&v, h, "VSS")
	return v
}

// serviceKinds maps Get-VMIntegrationService names to VMBus device kinds.
var serviceKinds = map[string]string{
	"Guest Service Interface": "fcopy", "Heartbeat": "heartbeat", "Key-Value Pair Exchange": "kvp",
	"Shutdown": "shutdown", "Time Synchronization": "timesync", "VSS": "vss",
}

// requiredServices are enabled on every new VM by Hyper-V's defaults.
var requiredServices = []string{"Heartbeat", "Key-Value Pair Exchange", "Shutdown", "Time Synchronization"}

// JudgeIntegrationServices: every service enabled on the host reports OK,
// the default ones are enabled, and each enabled one has its VMBus device
// bound in the guest.
func JudgeIntegrationServices(g Guest, h Host) suites.Verdict {
	var v suites.Verdict
	v.Add("guest: VMBus devices", len(g.VMBus) > 0, "integration-service devices on VMBus", vmbusCount(g, h), "", "")
	if len(h.Services) == 0 {
		v.Add("host: Get-VMIntegrationService", false, "the VM's integration services", "none listed", "", "")
		return v
	}
	for _, name := range requiredServices {
		s, ok := h.service(name)
		v.Add("host: "+name+" enabled", ok && s.Enabled, "enabled (Hyper-V default)", map[bool]string{true: "enabled", false: "disabled or absent"}[ok && s.Enabled], "", "")
	}
	names := make([]string, 0, len(h.Services))
	for _, s := range h.Services {
		names = append(names, s.Canonical())
	}
	sort.Strings(names)
	for _, n := range names {
		s, _ := h.service(n)
		if !s.Enabled {
			continue
		}
		v.Add("host: "+n+" status", s.StatusOK(), "OK", describe(s), "", "")
		if kind, ok := serviceKinds[n]; ok {
			vmbusItem(&v, g, h, kind)
		}
	}
	return v
}

// Copy is the outcome of the host's Copy-VMFile and the guest's hash.
type Copy struct {
	Err       string // Copy-VMFile's error, "" on success
	WantSHA   string
	GotSHA    string // sha256sum in the guest, "" when not read
	GuestPath string
}

// JudgeFcopy: the host copies a file into the guest through the guest
// service interface, and the guest holds the same bytes.
func JudgeFcopy(g Guest, h Host, c Copy) suites.Verdict {
	var v suites.Verdict
	vmbusItem(&v, g, h, "fcopy")
	ok, how := g.running(fcopyDaemon)
	if !ok && len(g.VMBus) == 0 {
		how += "; " + noVMBus(h)
	}
	v.Add("file copy daemon running", ok, strings.Join(fcopyDaemon.procs, " or ")+" running", how, "", "")
	serviceItem(&v, h, "Guest Service Interface")
	if c.Err != "" {
		v.Add("host: Copy-VMFile", false, "copied to "+c.GuestPath, c.Err, "", "")
		return v
	}
	v.Add("host: Copy-VMFile", true, "copied to "+c.GuestPath, "copied", "", "")
	v.Add("sha256 in the guest", c.GotSHA == c.WantSHA, c.WantSHA, cmp.Or(c.GotSHA, "(none)"), "", "")
	return v
}

func vmbusCount(g Guest, h Host) string {
	if len(g.VMBus) == 0 {
		return noVMBus(h)
	}
	return fmt.Sprintf("%d VMBus devices", len(g.VMBus))
}
