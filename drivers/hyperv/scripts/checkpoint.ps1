param(
    [Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$')][string]$Name,
    [Parameter(Mandatory = $true)][ValidateSet('Create', 'Restore', 'Remove', 'List')][string]$Op,
    [ValidatePattern('^[A-Za-z0-9._-]*$')][string]$CheckpointName,
    [ValidateSet('Running', 'Off')][string]$Expect
)
{{template "prelude" .}}
{{template "merge" .}}

$vm = Get-VM -Name $Name
if ($Op -ne 'List' -and -not $CheckpointName) { throw "-CheckpointName is required for $Op" }
switch ($Op) {
    'Create' {
        # Standard checkpoints keep the memory, so a restore returns the VM
        # to where it was. The host default since 2016 is Production: no
        # memory, and the VM comes back Off.
        Set-VM -VM $vm -CheckpointType Standard
        Checkpoint-VM -VM $vm -SnapshotName $CheckpointName
    }
    'Restore' {
        # A standard checkpoint of a running VM restores to Saved: resume
        # it, then hold the state to the one the checkpoint was taken in.
        Restore-VMSnapshot -VMName $Name -Name $CheckpointName -Confirm:$false
        if ($Expect -eq 'Running' -and [string](Get-VM -Name $Name).State -eq 'Saved') { Start-VM -Name $Name }
        $state = [string](Get-VM -Name $Name).State
        if ($Expect -and $state -ne $Expect) { throw ("restoring checkpoint {0} left VM {1} {2}, not {3} as when it was taken" -f $CheckpointName, $Name, $state, $Expect) }
    }
    'Remove' {
        Remove-VMSnapshot -VMName $Name -Name $CheckpointName
        Wait-VcMerge -VM $vm -Seconds 600
    }
}
Out-VcJson @(Get-VMSnapshot -VMName $Name | ForEach-Object {
    [ordered]@{ Name = $_.Name; Created = $_.CreationTime.ToUniversalTime().ToString('o') }
})
