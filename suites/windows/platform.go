package windows

import (
	"fmt"
	"slices"
	"strings"

	"github.com/virtcert/virtcert/suites"
)

func init() {
	reg(suites.Check{ID: "windows.platform.hypervisor", Priority: 1, Title: "Windows sees the expected hypervisor",
		Keys: []string{"manufacturers", "models"},
		Doc: "Inventory: `Get-CimInstance Win32_ComputerSystem | Select HypervisorPresent, Manufacturer, Model`. " +
			"HypervisorPresent must be True, Manufacturer one of the profile's manufacturers and Model contain one of its models " +
			"(QEMU/Red Hat 'Standard PC'/'KVM' on KVM; 'Microsoft Corporation' 'Virtual Machine' on Hyper-V).",
		Run: runHypervisor})
	reg(suites.Check{ID: "windows.platform.firmware", Priority: 2, Title: "Windows booted with the expected firmware",
		Keys: []string{"firmware"},
		Doc:  "Inventory: `$env:firmware_type` (UEFI or Legacy) against the profile's firmware (UEFI on Hyper-V generation 2, Legacy on generation 1; any: not judged).",
		Run:  runFirmware})
	reg(suites.Check{ID: "windows.platform.secure-boot", Priority: 2, Title: "Secure Boot state as the profile expects",
		Keys: []string{"secure_boot"},
		Doc: "Inventory: `Confirm-SecureBootUEFI` (True: on, False: off, an error such as 'Cmdlet not supported on this platform': " +
			"unsupported, a BIOS boot). Compared with the profile's secure_boot (on, off or any).",
		Run: runSecureBoot})
}

// JudgeHypervisor checks Win32_ComputerSystem.
func JudgeHypervisor(inv *Inventory, manufacturers, models []string) suites.Verdict {
	var v suites.Verdict
	var cs ComputerSystem // runHypervisor never judges a null cs
	if inv.CS != nil {
		cs = *inv.CS
	}
	v.Add("Win32_ComputerSystem.HypervisorPresent", cs.HypervisorPresent, "True", fmt.Sprint(cs.HypervisorPresent), "", "")
	v.Add("Win32_ComputerSystem.Manufacturer", slices.ContainsFunc(manufacturers, func(m string) bool { return strings.EqualFold(m, cs.Manufacturer) }),
		"one of "+strings.Join(manufacturers, ", "), quoted(cs.Manufacturer), "", "manufacturers")
	v.Add("Win32_ComputerSystem.Model", slices.ContainsFunc(models, func(m string) bool { return containsFold(cs.Model, m) }),
		"contains one of "+strings.Join(models, ", "), quoted(cs.Model), "", "models")
	return v
}

func runHypervisor(t *suites.T) {
	inv := inventory(t)
	if inv.CS == nil {
		// A JSON null where the object belongs: the CIM query failed.
		// Judged as an absent hypervisor it would be a false FAIL.
		t.Errorf("inventory: \"cs\" is null, not a Win32_ComputerSystem object: the guest's CIM query returned nothing (harness could not read the guest)")
	}
	t.Judge(JudgeHypervisor(inv, t.Strings("manufacturers"), t.Strings("models")))
}

// JudgeFirmware checks $env:firmware_type.
func JudgeFirmware(inv *Inventory, want string) suites.Verdict {
	var v suites.Verdict
	if strings.EqualFold(want, "any") {
		v.NotJudged("firmware type", "any", "the profile accepts any firmware (got "+quoted(inv.Firmware)+")", "firmware")
		return v
	}
	v.Add("firmware type ($env:firmware_type)", strings.EqualFold(inv.Firmware, want), want, quoted(inv.Firmware), "", "firmware")
	return v
}

func runFirmware(t *suites.T) { t.Judge(JudgeFirmware(inventory(t), t.String("firmware"))) }

// JudgeSecureBoot checks Confirm-SecureBootUEFI's answer.
func JudgeSecureBoot(inv *Inventory, want string) suites.Verdict {
	var v suites.Verdict
	got, _, _ := strings.Cut(inv.SecureBoot, ":")
	if strings.EqualFold(want, "any") {
		v.NotJudged("Secure Boot", "any", "the profile accepts any Secure Boot state (got "+quoted(inv.SecureBoot)+")", "secure_boot")
		return v
	}
	v.Add("Secure Boot (Confirm-SecureBootUEFI)", got == want, want, quoted(inv.SecureBoot), "", "secure_boot")
	return v
}

func runSecureBoot(t *suites.T) { t.Judge(JudgeSecureBoot(inventory(t), t.String("secure_boot"))) }

func quoted(s string) string {
	if s == "" {
		return "(empty)"
	}
	return fmt.Sprintf("%q", s)
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
