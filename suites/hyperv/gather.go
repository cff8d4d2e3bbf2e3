// Package hyperv holds the Hyper-V-only checks: the guest's integration
// services (KVP, heartbeat, file copy, VSS) seen from both sides, the
// guest (VMBus devices, daemons) and the host (drivers/hyperv's KVP,
// Heartbeat, IntegrationServices and CopyFile capabilities).
//
// Each check gathers guest output in one session (ProbeHyperV), reads the
// host through the driver, and hands both to a pure judge (judge.go), which
// is unit-tested on fixtures/transcripts/hyperv-gen*/hyperv/.
//
// On the simulated Hyper-V host (fixtures/hypervsim) the guest runs on
// QEMU: it has no VMBus, so these checks FAIL there, and their evidence
// says that the host is simulated and why.
package hyperv

import (
	"regexp"
	"sort"
	"strings"

	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/parse"
)

// ProbeHyperV reads the guest side of the integration services: processes
// (the daemons from hyperv-daemons: hv_kvp_daemon, hv_vss_daemon,
// hv_fcopy_daemon or the RHEL names hypervkvpd, hypervvssd, hypervfcopyd),
// their device nodes, the KVP pool files, loaded hv modules, and what the
// KVP daemon reports to the host (host name, os-release, kernel, IPv4).
var ProbeHyperV = suites.Sections("hyperv",
	[2]string{"procs", `for p in /proc/[0-9]*; do cat "$p/comm" 2>/dev/null; done | sort -u`},
	[2]string{"services", `if command -v systemctl >/dev/null 2>&1; then for s in hv-kvp-daemon hypervkvpd hv-vss-daemon hypervvssd hv-fcopy-daemon hypervfcopyd; do echo "$s=$(systemctl is-active "$s" 2>/dev/null)"; done; else echo 'systemctl: not found'; fi`},
	[2]string{"devnodes", `ls -l /dev/vmbus/ 2>&1; ls -l /dev/vmbus/hv_kvp /dev/vmbus/hv_vss /dev/vmbus/hv_fcopy /dev/uio* 2>&1`},
	[2]string{"kvp-pool", `ls -la /var/lib/hyperv/ 2>&1`},
	[2]string{"modules", `grep -E '^(hv_vmbus|hv_utils|hv_netvsc|hv_storvsc|hv_balloon|uio_hv_generic) ' /proc/modules; ls -d /sys/module/hv_vmbus /sys/module/hv_utils 2>&1`},
	[2]string{"hostname", `hostname -f 2>/dev/null || hostname`},
	[2]string{"os-release", `cat /etc/os-release`},
	[2]string{"uname", `uname -r`},
	[2]string{"ipv4", `ip -4 -o addr show scope global 2>&1`},
)

// Guest is the parsed guest side.
type Guest struct {
	Procs    map[string]bool
	Services map[string]string // systemd unit -> is-active output
	DevNodes string
	KVPPool  string
	Modules  string
	Hostname string
	OS       map[string]string
	Kernel   string
	IPv4     []string
	// VMBus devices from suites.ProbePVDevices.
	VMBus []parse.Device
}

var inetRE = regexp.MustCompile(`\binet (\d+\.\d+\.\d+\.\d+)/`)

// ParseGuest parses ProbeHyperV and ProbePVDevices output.
func ParseGuest(probe, pvdevices string) Guest {
	s := parse.Sections(probe)
	g := Guest{Procs: map[string]bool{}, Services: parse.KeyValues(s["services"], "="),
		DevNodes: s["devnodes"], KVPPool: s["kvp-pool"], Modules: s["modules"],
		Hostname: parse.FirstLine(s["hostname"]), OS: parse.OSRelease(s["os-release"]), Kernel: parse.FirstLine(s["uname"])}
	for _, l := range strings.Split(s["procs"], "\n") {
		if l = strings.TrimSpace(l); l != "" {
			g.Procs[l] = true
		}
	}
	for _, m := range inetRE.FindAllStringSubmatch(s["ipv4"], -1) {
		g.IPv4 = append(g.IPv4, m[1])
	}
	for _, d := range parse.BusDevices(pvdevices) {
		if d.Bus == "vmbus" {
			g.VMBus = append(g.VMBus, d)
		}
	}
	return g
}

// daemon describes one integration-service daemon under its known names.
type daemon struct {
	what      string
	procs     []string // process names (comm is cut at 15 characters)
	units     []string // systemd units
	devnode   string
	vmbusKind string
}

var (
	kvpDaemon   = daemon{"KVP daemon", []string{"hv_kvp_daemon", "hypervkvpd"}, []string{"hv-kvp-daemon", "hypervkvpd"}, "hv_kvp", "kvp"}
	vssDaemon   = daemon{"VSS daemon", []string{"hv_vss_daemon", "hypervvssd"}, []string{"hv-vss-daemon", "hypervvssd"}, "hv_vss", "vss"}
	fcopyDaemon = daemon{"file copy daemon", []string{"hv_fcopy_daemon", "hypervfcopyd", "hv_fcopy_uio_da"}, []string{"hv-fcopy-daemon", "hypervfcopyd"}, "hv_fcopy", "fcopy"}
)

// running reports whether the daemon runs, and how that was seen.
func (g Guest) running(d daemon) (bool, string) {
	for _, p := range d.procs {
		if g.Procs[p] {
			return true, "process " + p
		}
	}
	for _, u := range d.units {
		if g.Services[u] == "active" {
			return true, "unit " + u + " active"
		}
	}
	var states []string
	for _, u := range d.units {
		if v, ok := g.Services[u]; ok && v != "" {
			states = append(states, u+"="+v)
		}
	}
	sort.Strings(states)
	s := "no " + strings.Join(d.procs, "/") + " process"
	if len(states) > 0 {
		s += "; " + strings.Join(states, ", ")
	}
	return false, s
}

// device returns the VMBus device of a kind.
func (g Guest) device(kind string) (parse.Device, bool) {
	for _, d := range g.VMBus {
		if d.Kind == kind {
			return d, true
		}
	}
	return parse.Device{}, false
}
