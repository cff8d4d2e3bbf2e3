param(
    [Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$')][string]$Name,
    [Parameter(Mandatory = $true)][ValidateSet('Add', 'Remove')][string]$Op,
    [Parameter(Mandatory = $true)][ValidateNotNullOrEmpty()][string]$Path,
    [ValidateRange(1, 65536)][int]$SizeMB = 64
)
{{template "prelude" .}}

# Hot-adds a blank dynamic VHDX on SCSI controller 0, recorded in the
# VM's Notes as created by the run, or hot-removes one (and deletes its
# file).
$vm = Get-VM -Name $Name
$record = "virtcert.disk=$Path"
if ($Op -eq 'Add') {
    New-VHD -Path $Path -SizeBytes ([int64]$SizeMB * 1048576) -Dynamic | Out-Null
    Set-VM -VM $vm -Notes (([string]$vm.Notes).TrimEnd() + "`r`n" + $record)
    try {
        $d = Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -Path $Path -Passthru
    } catch {
        $err = $_
        Remove-Item -LiteralPath $Path -Force -ErrorAction SilentlyContinue
        Set-VM -VM $vm -Notes ((@(([string]$vm.Notes) -split "`r?`n") | Where-Object { $_ -cne $record }) -join "`r`n")
        throw $err
    }
    Out-VcJson ([ordered]@{ Path = $Path; ControllerNumber = $d.ControllerNumber; ControllerLocation = $d.ControllerLocation })
} else {
    $d = Get-VMHardDiskDrive -VM $vm -ControllerType SCSI | Where-Object { $_.Path -eq $Path }
    if ($null -ne $d) { Remove-VMHardDiskDrive -VMHardDiskDrive $d }
    if (Test-Path -LiteralPath $Path) { Remove-Item -LiteralPath $Path -Force }
    Set-VM -VM $vm -Notes ((@(([string]$vm.Notes) -split "`r?`n") | Where-Object { $_ -cne $record }) -join "`r`n")
    Out-VcJson ([ordered]@{ Path = $Path; ControllerNumber = -1; ControllerLocation = -1 })
}
