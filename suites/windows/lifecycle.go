package windows

import (
	"time"

	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/lifecycle"
)

// bootIdentity names the current boot by its first System-log record,
// Kernel-General event 12 ("The operating system started at system time
// ..."): its RecordId and its stored TimeCreated (at least 50 characters).
// Not Win32_OperatingSystem.LastBootUpTime: Windows derives that from the
// current clock (every step of the system time moves the kernel's boot
// time with it), so it changes when w32time or the Hyper-V time sync
// steps the clock after a resume or a restore, and a healthy guest would
// read as rebooted.
const bootIdentity = `$e = Get-WinEvent -FilterHashtable @{ LogName = 'System'; ProviderName = 'Microsoft-Windows-Kernel-General'; Id = 12 } -MaxEvents 1 -ErrorAction Stop; ` +
	`'windows-boot record ' + $e.RecordId + ' at ' + $e.TimeCreated.ToUniversalTime().ToString('o')`

// probes are the PowerShell commands the lifecycle machinery of
// suites/lifecycle runs on a Windows guest (the same judges, the same
// re-dial loop through Target.Reconnect, the same host steps).
var probes = lifecycle.Probes{
	BootID: "# virtcert: windows boot id\n" + bootIdentity,
	// A planned restart (reason p:4:1) in 5 s, so the session ends
	// first and the next boot logs no unexpected shutdown.
	Reboot: `# virtcert: windows reboot
shutdown.exe /r /t 5 /d p:4:1 /c virtcert-lifecycle-reboot
if ($LASTEXITCODE -eq 0) { 'reboot-scheduled' } else { exit $LASTEXITCODE }`,
	Responsive: `# virtcert: windows responsive
'@@@ boot_id'
try { ` + bootIdentity + ` } catch { 'no boot identity: ' + $_.Exception.Message }
'@@@ write'
$p = Join-Path $env:TEMP 'virtcert-lifecycle.bin'
try {
  $fs = New-Object IO.FileStream($p, [IO.FileMode]::Create, [IO.FileAccess]::Write, [IO.FileShare]::None, 4096, [IO.FileOptions]::WriteThrough)
  try { $fs.Write((New-Object byte[] 262144), 0, 262144); $fs.Flush($true) } finally { $fs.Dispose() }
  Remove-Item -LiteralPath $p -Force
  'write-ok'
} catch { 'write failed: ' + $_.Exception.Message }`,
}

func init() {
	life := func(c suites.Check) {
		c.Disruptive = true
		reg(c)
	}
	life(suites.Check{ID: "windows.lifecycle.reboot", Keys: []string{"max_seconds", "boot_factor"}, Waits: []string{"max_seconds"}, Priority: 1, Title: "Windows reboot comes back",
		Doc: "Schedules a planned restart (`shutdown.exe /r /t 5 /d p:4:1`), re-dials the transport until the guest answers " +
			"with a new boot identity (the RecordId and time of the boot's Kernel-General event 12, which unlike LastBootUpTime do not move when the clock is stepped), and times it: back " +
			"within the profile's max_seconds, or boot_factor times the guest's own boot-to-ready time in this run where the profile sets it " +
			"and that is longer (software emulation). The lifecycle.reboot machinery with PowerShell probes.",
		Timeout: 25 * time.Minute, Run: func(t *suites.T) { lifecycle.RunReboot(t, probes) }})
	life(suites.Check{ID: "windows.lifecycle.pause-resume", Keys: []string{"pause_seconds", "responsive_seconds"}, Waits: []string{"pause_seconds", "responsive_seconds"}, Priority: 2,
		Title: "Pause and resume keep Windows running", Needs: []string{"PauseResume"},
		Doc: "Host pauses the guest for pause_seconds and resumes it; then one PowerShell command prints the boot identity " +
			"(the boot's Kernel-General event 12: RecordId and TimeCreated), which must be unchanged, and makes a 256 KiB " +
			"`[IO.FileOptions]::WriteThrough` write to %TEMP%, which must complete, within responsive_seconds.",
		Timeout: 5 * time.Minute, Run: func(t *suites.T) { lifecycle.RunPauseResume(t, probes) }})
	life(suites.Check{ID: "windows.lifecycle.save-restore", Keys: []string{"responsive_seconds"}, Waits: []string{"responsive_seconds"}, Priority: 2,
		Title: "Save and restore keep Windows running", Needs: []string{"SaveRestore"},
		Doc: "Host saves the guest's memory and restores it; the boot identity (the boot's Kernel-General event 12) is " +
			"unchanged and a `[IO.FileOptions]::WriteThrough` write completes within responsive_seconds.",
		Timeout: 8 * time.Minute, Run: func(t *suites.T) { lifecycle.RunSaveRestore(t, probes) }})
	life(suites.Check{ID: "windows.lifecycle.shutdown", Keys: []string{"max_seconds", "restart_seconds", "boot_factor"}, Waits: []string{"max_seconds", "restart_seconds"}, Priority: 1,
		Title: "ACPI shutdown from the host powers Windows off",
		Doc: "Host: `Power(shutdown)` (ACPI power button on KVM, the shutdown integration service on Hyper-V), then `State`: " +
			"the guest must be off within max_seconds (scaled by boot_factor like windows.lifecycle.reboot's). The check then starts it again and waits up to restart_seconds for a new " +
			"boot identity (the boot's Kernel-General event 12).",
		Timeout: 55 * time.Minute, Run: func(t *suites.T) { lifecycle.RunShutdown(t, probes) }})
}
