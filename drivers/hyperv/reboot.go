package hyperv

import "fmt"

// RebootReturn is what power.ps1 makes of one return value of
// Msvm_ShutdownComponent.InitiateReboot (the guest-performed reboot).
// ID is the Stop-VcError id it raises ("": the reboot was accepted),
// Category its ErrorCategory, which scriptFailure classifies:
// VcRebootRefused is the guest's doing (guestIDs), PermissionDenied the
// WinRM user's rights (ClassInput), anything else the host's.
type RebootReturn struct {
	Code         int
	ID, Category string
	Meaning      string
}

// RebootReturns are the return values power.ps1 names; any other is
// RebootFailed. A test keeps power.ps1's switch and this table in step,
// and the simulated host raises its errors from it.
var RebootReturns = []RebootReturn{
	{0, "", "", "completed"},
	// InitiateReboot has no Job out parameter: nothing to wait on. The
	// guest was asked; Power's callers wait for it to come back.
	{4096, "", "", "job started"},
	{32769, "VcRebootAccessDenied", "PermissionDenied", "access denied"},
	{32775, "VcRebootRefused", "InvalidOperation", "invalid state: the VM is not running or its shutdown service does not answer"},
}

// RebootFailed is power.ps1's error for a return value RebootReturns
// does not name (32768 failed, 32770 not supported, 32772 timeout, ...):
// a host error.
var RebootFailed = RebootReturn{ID: "VcRebootFailed", Category: "InvalidResult", Meaning: "failed"}

// RebootReturnOf is RebootReturns' entry for code, or RebootFailed.
func RebootReturnOf(code int) RebootReturn {
	for _, r := range RebootReturns {
		if r.Code == code {
			return r
		}
	}
	r := RebootFailed
	r.Code = code
	return r
}

// Message is the error text power.ps1 writes for r on VM name.
func (r RebootReturn) Message(name string) string {
	return fmt.Sprintf("InitiateReboot on VM %s returned %d (%s)", name, r.Code, r.Meaning)
}
