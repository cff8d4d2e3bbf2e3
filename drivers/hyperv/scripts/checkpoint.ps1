param(
    [Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$')][string]$Name,
    [Parameter(Mandatory = $true)][ValidateSet('Create', 'Restore', 'Remove', 'List')][string]$Op,
    [ValidatePattern('^[A-Za-z0-9._-]*$')][string]$CheckpointName
)
{{template "prelude" .}}

$vm = Get-VM -Name $Name
if ($Op -ne 'List' -and -not $CheckpointName) { throw "-CheckpointName is required for $Op" }
switch ($Op) {
    'Create' { Checkpoint-VM -VM $vm -SnapshotName $CheckpointName }
    'Restore' { Restore-VMSnapshot -VMName $Name -Name $CheckpointName -Confirm:$false }
    'Remove' { Remove-VMSnapshot -VMName $Name -Name $CheckpointName }
}
Out-VcJson @(Get-VMSnapshot -VMName $Name | ForEach-Object {
    [ordered]@{ Name = $_.Name; Created = $_.CreationTime.ToUniversalTime().ToString('o') }
})
