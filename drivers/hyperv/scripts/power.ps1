param(
    [Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$')][string]$Name,
    [Parameter(Mandatory = $true)][ValidateSet('Start', 'Shutdown', 'TurnOff', 'Reboot', 'Reset', 'Save', 'Suspend', 'Resume')][string]$Op,
    [ValidateRange(1, 3600)][int]$TimeoutSeconds = 120
)
{{template "prelude" .}}

$vm = Get-VM -Name $Name
switch ($Op) {
    'Start' { Start-VM -VM $vm }
    'Shutdown' {
        # Stop-VM without -TurnOff asks the guest through the shutdown
        # integration service; it has no timeout of its own.
        $job = Stop-VM -VM $vm -Force -AsJob
        if (-not (Wait-Job -Job $job -Timeout $TimeoutSeconds)) {
            Remove-Job -Job $job -Force
            Stop-VcError -Id 'VcShutdownTimeout' -Category OperationTimeout -Message ("VM {0} did not shut down within {1}s" -f $Name, $TimeoutSeconds)
        }
        Receive-Job -Job $job | Out-Null
        Remove-Job -Job $job -Force
    }
    'TurnOff' { Stop-VM -VM $vm -TurnOff -Force }
    'Reboot' {
        # Restart-VM has no -Type on any documented version (MicrosoftDocs
        # windows-powershell-docs, winserver2019-ps and winserver2022-ps
        # Restart-VM.md): it is a hard restart. A reboot the guest performs
        # itself is asked through the shutdown integration service,
        # Msvm_ShutdownComponent.InitiateReboot (Windows Server 2016 and
        # later), selected by the VM's GUID.
        $sd = Get-CimInstance -Namespace 'root\virtualization\v2' -ClassName 'Msvm_ShutdownComponent' -Filter ("SystemName='{0}'" -f $vm.Id.Guid)
        if ($null -eq $sd) { Stop-VcError -Id 'VcNoShutdownService' -Category ResourceUnavailable -Message ("VM {0} has no shutdown integration service" -f $Name) }
        $r = Invoke-CimMethod -InputObject $sd -MethodName 'InitiateReboot' -Arguments @{ Force = $true; Reason = 'virtcert' }
        # Return values as hyperv.RebootReturns (reboot.go) names them.
        # 4096 (job started) is success: InitiateReboot has no Job out
        # parameter to wait on; the caller waits for the guest.
        $rv = [int]$r.ReturnValue
        switch ($rv) {
            0 { }
            4096 { }
            32769 { Stop-VcError -Id 'VcRebootAccessDenied' -Category PermissionDenied -Message ("InitiateReboot on VM {0} returned {1} (access denied)" -f $Name, $rv) }
            32775 { Stop-VcError -Id 'VcRebootRefused' -Category InvalidOperation -Message ("InitiateReboot on VM {0} returned {1} (invalid state: the VM is not running or its shutdown service does not answer)" -f $Name, $rv) }
            default { Stop-VcError -Id 'VcRebootFailed' -Category InvalidResult -Message ("InitiateReboot on VM {0} returned {1} (failed)" -f $Name, $rv) }
        }
    }
    'Reset' { Restart-VM -VM $vm -Force }
    'Save' { Save-VM -VM $vm }
    'Suspend' { Suspend-VM -VM $vm }
    'Resume' { Resume-VM -VM $vm }
}
Out-VcJson ([ordered]@{ Name = $Name; State = [string](Get-VM -Name $Name).State })
