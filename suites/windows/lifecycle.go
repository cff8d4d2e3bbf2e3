package windows

import (
	"time"

	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/lifecycle"
)

// probes are the PowerShell commands the lifecycle machinery of
// suites/lifecycle runs on a Windows guest (the same judges, the same
// re-dial loop through Target.Reconnect, the same host steps).
var probes = lifecycle.Probes{
	// LastBootUpTime identifies a boot (41 characters).
	BootID: `# virtcert: windows boot id
'windows-boot ' + (Get-CimInstance Win32_OperatingSystem).LastBootUpTime.ToUniversalTime().ToString('o')`,
	// A planned restart (reason p:4:1) in 5 s, so the session ends
	// first and the next boot logs no unexpected shutdown.
	Reboot: `# virtcert: windows reboot
shutdown.exe /r /t 5 /d p:4:1 /c virtcert-lifecycle-reboot
if ($LASTEXITCODE -eq 0) { 'reboot-scheduled' } else { exit $LASTEXITCODE }`,
	Responsive: `# virtcert: windows responsive
'@@@ boot_id'
'windows-boot ' + (Get-CimInstance Win32_OperatingSystem).LastBootUpTime.ToUniversalTime().ToString('o')
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
	life(suites.Check{ID: "windows.lifecycle.reboot", Keys: []string{"max_seconds"}, Priority: 1, Title: "Windows reboot comes back",
		Doc: "Schedules a planned restart (`shutdown.exe /r /t 5 /d p:4:1`), re-dials the transport until the guest answers " +
			"with a new boot identity ('windows-boot ' + Win32_OperatingSystem.LastBootUpTime in UTC), and times it: back " +
			"within the profile's max_seconds. The lifecycle.reboot machinery with PowerShell probes.",
		Timeout: 15 * time.Minute, Run: func(t *suites.T) { lifecycle.RunReboot(t, probes) }})
	life(suites.Check{ID: "windows.lifecycle.pause-resume", Keys: []string{"pause_seconds", "responsive_seconds"}, Priority: 2,
		Title: "Pause and resume keep Windows running", Needs: []string{"PauseResume"},
		Doc: "Host pauses the guest for pause_seconds and resumes it; then one PowerShell command prints the boot identity " +
			"(`(Get-CimInstance Win32_OperatingSystem).LastBootUpTime`), which must be unchanged, and makes a 256 KiB " +
			"`[IO.FileOptions]::WriteThrough` write to %TEMP%, which must complete, within responsive_seconds.",
		Timeout: 5 * time.Minute, Run: func(t *suites.T) { lifecycle.RunPauseResume(t, probes) }})
	life(suites.Check{ID: "windows.lifecycle.save-restore", Keys: []string{"responsive_seconds"}, Priority: 2,
		Title: "Save and restore keep Windows running", Needs: []string{"SaveRestore"},
		Doc: "Host saves the guest's memory and restores it; the boot identity (`Win32_OperatingSystem.LastBootUpTime`) is " +
			"unchanged and a `[IO.FileOptions]::WriteThrough` write completes within responsive_seconds.",
		Timeout: 8 * time.Minute, Run: func(t *suites.T) { lifecycle.RunSaveRestore(t, probes) }})
	life(suites.Check{ID: "windows.lifecycle.shutdown", Keys: []string{"max_seconds", "restart_seconds"}, Priority: 1,
		Title: "ACPI shutdown from the host powers Windows off",
		Doc: "Host: `Power(shutdown)` (ACPI power button on KVM, the shutdown integration service on Hyper-V), then `State`: " +
			"the guest must be off within max_seconds. The check then starts it again and waits up to restart_seconds for a new " +
			"boot identity (`Win32_OperatingSystem.LastBootUpTime`).",
		Timeout: 15 * time.Minute, Run: func(t *suites.T) { lifecycle.RunShutdown(t, probes) }})
}
