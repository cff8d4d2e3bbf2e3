package windows

import (
	"fmt"
	"slices"
	"strings"

	"github.com/virtcert/virtcert/suites"
)

func init() {
	reg(suites.Check{ID: "windows.events.bugcheck", Priority: 1, Title: "No bugcheck since boot",
		Doc: "Inventory: `Get-WinEvent -FilterHashtable @{LogName='System'; StartTime=<LastBootUpTime>; Id=41,1001,6008}`: no " +
			"event 1001 from Microsoft-Windows-WER-SystemErrorReporting ('The computer has rebooted from a bugcheck', logged " +
			"at the boot after the crash). The Windows counterpart of console.clean's panic scan.",
		Run: runBugcheck})
	reg(suites.Check{ID: "windows.events.unexpected-shutdown", Priority: 1, Title: "No unexpected shutdown since boot",
		Doc: "Inventory: `Get-WinEvent -FilterHashtable @{LogName='System'; StartTime=<LastBootUpTime>; Id=41,1001,6008}`: no Kernel-Power 41 ('rebooted without cleanly shutting down first') and no EventLog " +
			"6008 ('The previous system shutdown ... was unexpected').",
		Run: runUnexpected})
	reg(suites.Check{ID: "windows.events.disk-errors", Priority: 1, Title: "No disk or storage error events since boot",
		Doc: "Inventory: `Get-WinEvent -FilterHashtable @{LogName='System'; StartTime=<LastBootUpTime>; ProviderName='disk'," +
			"'storport','Ntfs','Microsoft-Windows-Ntfs','viostor','vioscsi','storvsc','volmgr'; Level=1,2,3}`: none (e.g. disk 7 " +
			"bad block, disk 153 retried I/O, storport 129 reset, Ntfs 55 corruption).",
		Run: runDiskEvents})
}

var storageProviders = []string{"disk", "storport", "ntfs", "microsoft-windows-ntfs", "viostor", "vioscsi", "storvsc", "volmgr"}

// JudgeEvents fails on every event match selects.
func JudgeEvents(inv *Inventory, step, want string, match func(Event) bool) suites.Verdict {
	var v suites.Verdict
	var hits []string
	for _, e := range inv.Events {
		if match(e) {
			hits = append(hits, fmt.Sprintf("%s %s %d (%s): %s", e.TimeCreated, e.ProviderName, e.Id, e.LevelDisplayName, e.Message))
		}
	}
	v.Add(step+" since "+inv.Boot, len(hits) == 0, want, orNone(hits), "", "")
	return v
}

func isBugcheck(e Event) bool {
	return e.Id == 1001 && (strings.Contains(e.ProviderName, "WER-SystemErrorReporting") || strings.EqualFold(e.ProviderName, "BugCheck"))
}

func isUnexpected(e Event) bool {
	return (e.Id == 41 && strings.Contains(e.ProviderName, "Kernel-Power")) || (e.Id == 6008 && strings.EqualFold(e.ProviderName, "EventLog"))
}

func isStorage(e Event) bool {
	return slices.Contains(storageProviders, strings.ToLower(e.ProviderName))
}

// sinceBoot is the inventory for the event checks. A null boot time is
// an ERROR: Win32_OperatingSystem returned nothing (the guest's CIM query
// failed), so the events since boot cannot be told from older ones;
// judged, it would be a false FAIL (or, with no events at all, a PASS
// without evidence of the window).
func sinceBoot(t *suites.T) *Inventory {
	inv := inventory(t)
	if inv.Boot == "" {
		t.Errorf("inventory: \"boot\" is null: Win32_OperatingSystem.LastBootUpTime returned nothing (harness could not read the guest), so the events since boot cannot be selected")
	}
	return inv
}

func runBugcheck(t *suites.T) {
	t.Judge(JudgeEvents(sinceBoot(t), "bugcheck events (1001)", "none", isBugcheck))
}

func runUnexpected(t *suites.T) {
	t.Judge(JudgeEvents(sinceBoot(t), "unexpected-shutdown events (Kernel-Power 41, EventLog 6008)", "none", isUnexpected))
}

func runDiskEvents(t *suites.T) {
	t.Judge(JudgeEvents(sinceBoot(t), "storage error and warning events", "none", isStorage))
}
