// Package platform holds the checks of what the guest sees of its
// hypervisor: detection, and on Hyper-V the VMBus and its devices. Each
// check gathers (one batched session), parses (suites/parse) and judges (a
// pure function below, unit-tested on fixtures/transcripts).
package platform

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/parse"
)

func init() {
	suites.Register(suites.Check{
		ID: "platform.hypervisor", Keys: []string{"expect"}, Area: "platform", Priority: 1,
		Title: "Guest detects the hypervisor the host driver reports",
		Doc: "Reads systemd-detect-virt, the dmesg \"Hypervisor detected\" line, the cpuid hypervisor " +
			"flag in /proc/cpuinfo, /sys/hypervisor/type and the DMI vendor in one session. Every " +
			"signal must name a hypervisor in the profile's expect list, and the guest's view must " +
			"agree with what the host driver reports (HostInfo hypervisor and acceleration).",
		OS: []string{"linux"}, Timeout: 2 * time.Minute, Run: runHypervisor, Reads: []string{suites.ProbePlatform},
	})
	suites.Register(suites.Check{
		ID: "platform.vmbus", Keys: []string{"min_version"}, Area: "platform", Priority: 1,
		Title:       "VMBus negotiated",
		Doc:         "dmesg must show hv_vmbus's \"Vmbus version\" line with at least the profile's min_version.",
		Hypervisors: []string{"hyperv"}, OS: []string{"linux"}, Timeout: 2 * time.Minute, Run: runVMBus, Reads: []string{suites.ProbePlatform},
	})
	suites.Register(suites.Check{
		ID: "platform.vmbus-devices", Keys: []string{"require"}, Area: "platform", Priority: 1,
		Title: "VMBus offers the integration and synthetic devices",
		Doc: "Maps /sys/bus/vmbus/devices/*/class_id to device kinds (as lsvmbus does); every kind in " +
			"the profile's require list (shutdown, time sync, heartbeat, KVP, synthetic NIC and SCSI) " +
			"must be present.",
		Hypervisors: []string{"hyperv"}, OS: []string{"linux"}, Timeout: 2 * time.Minute, Run: runVMBusDevices, Reads: []string{suites.ProbePVDevices},
	})
}

// Facts is what the platform probe yields.
type Facts struct {
	DetectVirt    string // systemd-detect-virt answer, "" when absent
	SysHypervisor string // /sys/hypervisor/type, "" when absent
	CPU           parse.CPUInfo
	DMIVendor     string
	DMIProduct    string
	DmesgVendor   string // "KVM", "Microsoft Hyper-V"; "" when not printed
	VMBusVersion  string
	OS            map[string]string
	Kernel        string
}

// ParseFacts parses suites.ProbePlatform output.
func ParseFacts(out string) Facts {
	s := parse.Sections(out)
	var f Facts
	if dv := parse.FirstLine(s["detect-virt"]); !parse.Missing(dv) {
		f.DetectVirt = dv
	}
	if h := parse.FirstLine(s["sys-hypervisor"]); !parse.Missing(h) {
		f.SysHypervisor = h
	}
	f.CPU = parse.ParseCPUInfo(s["cpuinfo"])
	dmi := parse.KeyValues(s["dmi"], "=")
	if v := dmi["sys_vendor"]; !parse.Missing(v) {
		f.DMIVendor = v
	}
	if v := dmi["product_name"]; !parse.Missing(v) {
		f.DMIProduct = v
	}
	dl := parse.Dmesg(s["dmesg"])
	f.DmesgVendor = parse.HypervisorDetected(dl)
	f.VMBusVersion = parse.VMBusVersion(dl)
	f.OS = parse.OSRelease(s["os-release"])
	f.Kernel = parse.FirstLine(s["uname"])
	return f
}

// vendorID maps the kernel's hypervisor vendor names to systemd-detect-virt IDs.
func vendorID(v string) string {
	switch {
	case v == "":
		return ""
	case strings.Contains(v, "KVM"):
		return "kvm"
	case strings.Contains(v, "Microsoft"):
		return "microsoft"
	case strings.Contains(v, "Xen"):
		return "xen"
	case strings.Contains(v, "VMware"):
		return "vmware"
	}
	return strings.ToLower(strings.Fields(v)[0])
}

// HostExpects maps what the host driver reports to the IDs the guest
// should detect: Hyper-V shows "microsoft"; libvirt with KVM acceleration
// "kvm"; software emulation "qemu".
func HostExpects(hi drivers.HostInfo) []string {
	switch {
	case hi.Hypervisor == "hyperv":
		return []string{"microsoft"}
	case hi.Hypervisor == "qemu" || hi.Accel == "tcg":
		return []string{"qemu"}
	case hi.Hypervisor == "kvm":
		return []string{"kvm"}
	}
	return nil
}

func in(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// JudgeHypervisor checks every signal against expect (the profile's list of
// acceptable IDs) and the guest's identity against what the host says.
func JudgeHypervisor(f Facts, expect []string, host []string, hostDesc string) suites.Verdict {
	var v suites.Verdict
	want := strings.Join(expect, " or ")
	identity, from := "", ""
	if f.DetectVirt != "" {
		v.Add("systemd-detect-virt", in(expect, f.DetectVirt), want, f.DetectVirt, "", "expect")
		identity, from = f.DetectVirt, "systemd-detect-virt"
	}
	if id := vendorID(f.DmesgVendor); id != "" {
		v.Add("dmesg \"Hypervisor detected\"", in(expect, id), want, fmt.Sprintf("%s (%s)", id, f.DmesgVendor), "", "expect")
		if identity == "" {
			identity, from = id, "dmesg"
		}
	}
	if f.DMIVendor != "" {
		var id string
		switch {
		case strings.Contains(f.DMIVendor, "Microsoft"):
			id = "microsoft"
		case strings.Contains(f.DMIVendor, "QEMU") || strings.Contains(f.DMIProduct, "KVM"):
			// QEMU's SMBIOS says QEMU with and without KVM.
			id = "qemu"
			if in(expect, "kvm") {
				id = "kvm"
			}
		}
		if id != "" {
			v.Add("DMI sys_vendor", in(expect, id), want, fmt.Sprintf("%s (%s / %s)", id, f.DMIVendor, f.DMIProduct), "", "expect")
			if identity == "" {
				identity, from = id, "DMI"
			}
		}
	}
	flag := f.CPU.HasFlag("hypervisor")
	if len(f.CPU.Flags) > 0 {
		// The cpuid hypervisor bit only says "some hypervisor".
		ok := flag != (len(expect) == 1 && expect[0] == "none") || in(expect, "none")
		v.Add("cpuid hypervisor flag (/proc/cpuinfo)", ok, "present", fmt.Sprintf("present=%v", flag), "", "expect")
		if identity == "" && !flag {
			identity, from = "none", "cpuid"
		}
	}
	if f.SysHypervisor != "" {
		v.Add("/sys/hypervisor/type", in(expect, f.SysHypervisor), want, f.SysHypervisor, "", "expect")
	}
	if identity == "" {
		v.Add("any hypervisor signal", false, "at least one of systemd-detect-virt, dmesg, DMI, cpuid", "none readable", "", "")
		return v
	}
	if len(host) > 0 {
		v.Add("guest view agrees with the host driver", in(host, identity),
			strings.Join(host, " or ")+" ("+hostDesc+")", identity+" (from "+from+")", "", "")
	}
	return v
}

func hostDesc(hi drivers.HostInfo) string {
	s := "driver " + hi.Driver + " hypervisor " + hi.Hypervisor
	if hi.Accel != "" {
		s += " accel " + hi.Accel
	}
	return s
}

func runHypervisor(t *suites.T) {
	r := t.Run("read hypervisor signals", suites.ProbePlatform)
	f := ParseFacts(string(r.Stdout))
	t.Judge(JudgeHypervisor(f, t.Strings("expect"), HostExpects(t.Target.HostInfo), hostDesc(t.Target.HostInfo)))
}

// versionAtLeast compares "major.minor" strings.
func versionAtLeast(have, min string) bool {
	hm, hn := splitVersion(have)
	mm, mn := splitVersion(min)
	return hm > mm || (hm == mm && hn >= mn)
}

func splitVersion(s string) (int, int) {
	a, b, _ := strings.Cut(s, ".")
	x, _ := strconv.Atoi(a)
	y, _ := strconv.Atoi(b)
	return x, y
}

// JudgeVMBus checks the negotiated VMBus version.
func JudgeVMBus(f Facts, minVersion string) suites.Verdict {
	var v suites.Verdict
	if f.VMBusVersion == "" {
		v.Add("hv_vmbus \"Vmbus version\" in dmesg", false, ">= "+minVersion, "no Vmbus version line", "", "min_version")
		return v
	}
	v.Add("hv_vmbus \"Vmbus version\" in dmesg", versionAtLeast(f.VMBusVersion, minVersion), ">= "+minVersion, f.VMBusVersion, "", "min_version")
	return v
}

func runVMBus(t *suites.T) {
	r := t.Run("read dmesg", suites.ProbePlatform)
	t.Judge(JudgeVMBus(ParseFacts(string(r.Stdout)), t.String("min_version")))
}

// JudgeVMBusDevices checks that every required device kind is offered.
func JudgeVMBusDevices(devs []parse.Device, require []string) suites.Verdict {
	var v suites.Verdict
	have := map[string][]string{}
	for _, d := range devs {
		if d.Bus == "vmbus" {
			have[d.Kind] = append(have[d.Kind], d.Name)
		}
	}
	if len(have) == 0 {
		v.Add("VMBus devices in /sys/bus/vmbus/devices", false, "a VMBus with devices", "no VMBus devices", "", "require")
		return v
	}
	for _, k := range require {
		name := parse.VMBusKindName(k)
		if name == "" {
			name = k
		}
		act := "absent"
		if len(have[k]) > 0 {
			act = "present: " + strings.Join(have[k], ", ")
		}
		v.Add("VMBus device "+name, len(have[k]) > 0, "present", act, "", "require")
	}
	return v
}

func runVMBusDevices(t *suites.T) {
	r := t.Run("list VMBus devices", suites.ProbePVDevices)
	t.Judge(JudgeVMBusDevices(parse.BusDevices(string(r.Stdout)), t.Strings("require")))
}
