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
            throw ("VM {0} did not shut down within {1}s" -f $Name, $TimeoutSeconds)
        }
        Receive-Job -Job $job | Out-Null
        Remove-Job -Job $job -Force
    }
    'TurnOff' { Stop-VM -VM $vm -TurnOff -Force }
    'Reboot' { Restart-VM -VM $vm -Type Reboot -Force }
    'Reset' { Restart-VM -VM $vm -Type Reset -Force }
    'Save' { Save-VM -VM $vm }
    'Suspend' { Suspend-VM -VM $vm }
    'Resume' { Resume-VM -VM $vm }
}
Out-VcJson ([ordered]@{ Name = $Name; State = [string](Get-VM -Name $Name).State })
