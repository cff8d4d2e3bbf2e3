package windows

import (
	"fmt"
	"slices"
	"strings"

	"github.com/virtcert/virtcert/suites"
)

func init() {
	reg(suites.Check{ID: "windows.drivers.present", Priority: 1, Title: "Paravirtual devices are bound to their drivers",
		Keys: []string{"services"},
		Doc: "Inventory: `Get-CimInstance Win32_PnPEntity | Select Name, PNPDeviceID, Service, ConfigManagerErrorCode`. Each of the profile's " +
			"driver services (netkvm, viostor|vioscsi, balloon, vioser on KVM; vmbus, netvsc, storvsc on Hyper-V; a|b means either) " +
			"is the Service of a device that works (ConfigManagerErrorCode 0).",
		Run: runPresent})
	reg(suites.Check{ID: "windows.drivers.signed", Priority: 1, Title: "Paravirtual drivers are signed by the expected publisher",
		Keys: []string{"services", "signers"},
		Doc: "Inventory: `Win32_PnPSignedDriver | Select DeviceID, DeviceName, InfName, IsSigned, Signer, DriverVersion`, joined on " +
			"DeviceID with the devices of the profile's services: IsSigned True and Signer one of the profile's signers.",
		Run: runSigned})
	reg(suites.Check{ID: "windows.drivers.running", Priority: 1, Title: "Paravirtual kernel drivers are running",
		Keys: []string{"services"},
		Doc:  "Inventory: `Get-CimInstance Win32_SystemDriver | Select Name, State, StartMode`: each of the profile's services has State Running.",
		Run:  runRunning})
	reg(suites.Check{ID: "windows.drivers.problem-devices", Priority: 1, Title: "No device in an error state",
		Doc: "Inventory: `Get-CimInstance Win32_PnPEntity` rows with ConfigManagerErrorCode other than 0 (Device Manager's problem codes; 28 = the " +
			"driver is not installed, e.g. a virtio NIC without netkvm; 10 = cannot start; 22 = disabled). None may exist; code 45 " +
			"(not present: a device the image remembers but this VM lacks) is not an error state and is ignored.",
		Run: runProblems})
	reg(suites.Check{ID: "windows.drivers.agent", Priority: 2, Title: "Guest agent and balloon services are running",
		Keys: []string{"agent_services"}, Hypervisors: []string{"kvm", "qemu"},
		Doc: "Inventory: `Get-Service` rows (Status and StartType as text) for the profile's agent_services (QEMU-GA, " +
			"BalloonService from virtio-win): Running, start type Automatic.",
		Run: runAgent})
}

// alternatives splits "viostor|vioscsi".
func alternatives(spec string) []string { return strings.Split(spec, "|") }

func (inv *Inventory) devicesOf(svc string) []Device {
	var out []Device
	for _, d := range inv.Devices {
		if strings.EqualFold(d.Service, svc) {
			out = append(out, d)
		}
	}
	return out
}

// pick returns the first alternative of spec with a device, and its devices.
func (inv *Inventory) pick(spec string) (string, []Device) {
	for _, s := range alternatives(spec) {
		if ds := inv.devicesOf(s); len(ds) > 0 {
			return s, ds
		}
	}
	return "", nil
}

// JudgePresent checks that each service drives a working device.
func JudgePresent(inv *Inventory, services []string) suites.Verdict {
	var v suites.Verdict
	for _, spec := range services {
		svc, ds := inv.pick(spec)
		ok, act := false, "no device has this driver service"
		for _, d := range ds {
			act = fmt.Sprintf("%s (%s), ConfigManagerErrorCode %d", d.Name, svc, d.ConfigManagerErrorCode)
			if d.ConfigManagerErrorCode == 0 {
				ok = true
				break
			}
		}
		v.Add("device driven by "+spec, ok, "a working device (ConfigManagerErrorCode 0)", act, "", "services")
	}
	return v
}

func runPresent(t *suites.T) { t.Judge(JudgePresent(inventory(t), t.Strings("services"))) }

// JudgeSigned checks the signature of each service's drivers.
func JudgeSigned(inv *Inventory, services, signers []string) suites.Verdict {
	var v suites.Verdict
	for _, spec := range services {
		svc, all := inv.pick(spec)
		var ds []Device
		for _, d := range all {
			if d.ConfigManagerErrorCode != notPresent { // a device not attached to this VM uses no driver
				ds = append(ds, d)
			}
		}
		if len(ds) == 0 {
			v.Add("signed driver for "+spec, false, "a device with a signed driver", "no present device has this driver service", "", "services")
			continue
		}
		for _, d := range ds {
			sd, found := inv.signedFor(d.PNPDeviceID)
			act := "no Win32_PnPSignedDriver row for " + d.PNPDeviceID
			if found {
				act = fmt.Sprintf("%s: IsSigned %v, Signer %q, %s %s", d.Name, sd.IsSigned, sd.Signer, sd.InfName, sd.DriverVersion)
			}
			ok := found && sd.IsSigned && slices.ContainsFunc(signers, func(s string) bool { return strings.EqualFold(s, sd.Signer) })
			v.Add("signed driver for "+svc, ok, "IsSigned True, Signer one of "+strings.Join(signers, "; "), act, "", "signers")
		}
	}
	return v
}

func (inv *Inventory) signedFor(id string) (SignedDriver, bool) {
	for _, s := range inv.Signed {
		if strings.EqualFold(s.DeviceID, id) {
			return s, true
		}
	}
	return SignedDriver{}, false
}

func runSigned(t *suites.T) {
	t.Judge(JudgeSigned(inventory(t), t.Strings("services"), t.Strings("signers")))
}

// JudgeRunning checks Win32_SystemDriver.State.
func JudgeRunning(inv *Inventory, services []string) suites.Verdict {
	var v suites.Verdict
	for _, spec := range services {
		ok, act := false, "no such system driver"
		for _, alt := range alternatives(spec) {
			for _, d := range inv.SysDrivers {
				if strings.EqualFold(d.Name, alt) {
					act = fmt.Sprintf("%s: State %s, StartMode %s", d.Name, d.State, d.StartMode)
					ok = d.State == "Running"
				}
			}
			if ok {
				break
			}
		}
		v.Add("system driver "+spec, ok, "State Running", act, "", "services")
	}
	return v
}

func runRunning(t *suites.T) { t.Judge(JudgeRunning(inventory(t), t.Strings("services"))) }

// problemCodes names Device Manager's common codes.
var problemCodes = map[int]string{1: "not configured correctly", 3: "driver may be corrupted", 10: "cannot start",
	12: "not enough free resources", 18: "reinstall the drivers", 19: "registry configuration incomplete", 22: "disabled",
	24: "not present or not all drivers installed", 28: "driver not installed", 31: "not working properly", 37: "driver failed to initialise",
	39: "driver corrupted or missing", 43: "device reported problems", 52: "driver signature not verified"}

// notPresent is CM_PROB_PHANTOM: a device Windows remembers but that is
// not attached now (a NIC the image was built with, a removed disk).
// Win32_PnPEntity lists such devices (its Present property is False);
// Device Manager hides them, and they are no fault of this guest.
const notPresent = 45

// JudgeProblems lists present devices with a non-zero ConfigManagerErrorCode.
func JudgeProblems(inv *Inventory) suites.Verdict {
	var v suites.Verdict
	var bad []string
	for _, d := range inv.Devices {
		if d.ConfigManagerErrorCode != 0 && d.ConfigManagerErrorCode != notPresent {
			bad = append(bad, fmt.Sprintf("%s [%s] code %d (%s)", d.Name, d.PNPDeviceID, d.ConfigManagerErrorCode, problemCodes[d.ConfigManagerErrorCode]))
		}
	}
	act := fmt.Sprintf("none of %d devices", len(inv.Devices))
	if len(bad) > 0 {
		act = strings.Join(bad, "; ")
	}
	v.Add("devices with ConfigManagerErrorCode != 0", len(bad) == 0 && len(inv.Devices) > 0, "none (and a non-empty device list)", act, "", "")
	return v
}

func runProblems(t *suites.T) { t.Judge(JudgeProblems(inventory(t))) }

// JudgeServices checks Get-Service rows: Running (and Automatic when auto).
func JudgeServices(inv *Inventory, names []string, key string) suites.Verdict {
	var v suites.Verdict
	for _, n := range names {
		s, ok := inv.service(n)
		act := "no such service"
		if ok {
			act = fmt.Sprintf("Status %s, StartType %s", s.Status, s.StartType)
		}
		v.Add("service "+n, ok && s.Status == "Running" && strings.HasPrefix(s.StartType, "Automatic"), "Running, Automatic", act, "", key)
	}
	return v
}

func runAgent(t *suites.T) {
	t.Judge(JudgeServices(inventory(t), t.Strings("agent_services"), "agent_services"))
}
