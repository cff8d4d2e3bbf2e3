param(
    [Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$')][string]$Name,
    [Parameter(Mandatory = $true)][ValidateNotNullOrEmpty()][string]$ParentPath,
    [Parameter(Mandatory = $true)][ValidateNotNullOrEmpty()][string]$VhdPath,
    [Parameter(Mandatory = $true)][ValidateSet('1', '2')][string]$Generation,
    [Parameter(Mandatory = $true)][ValidateRange(32, 1048576)][int]$MemoryMB,
    [Parameter(Mandatory = $true)][ValidateRange(1, 240)][int]$CPUs,
    [Parameter(Mandatory = $true)][ValidateNotNullOrEmpty()][string]$SwitchName,
    [Parameter(Mandatory = $true)][ValidateSet('On', 'Off')][string]$SecureBoot,
    [Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9._-]{1,100}$')][string]$RunLabel,
    [Parameter(Mandatory = $true)][ValidatePattern('^[0-9TZ:.+-]{1,40}$')][string]$Created,
    [string]$SeedPath,
    [ValidateSet('MicrosoftWindows', 'MicrosoftUEFICertificateAuthority')][string]$SecureBootTemplate = 'MicrosoftUEFICertificateAuthority'
)
{{template "prelude" .}}

# Creates a VM on a differencing disk over the parent image (the parent is
# never copied), attaches the NoCloud seed as a DVD, labels the VM for sweep
# and starts it. Anything created is removed again if a later step fails.
# The label and the files created for the VM are lines of their own in its
# Notes: sweep and Remove-VcVM delete exactly those files.
$lines = @("virtcert.run=$RunLabel", "virtcert.created=$Created", "virtcert.disk=$VhdPath")
if ($SeedPath) { $lines += "virtcert.disk=$SeedPath" }
$Notes = $lines -join "`r`n"
$createdVhd = $false
$createdVM = $false
try {
    if (-not (Test-Path -LiteralPath $ParentPath)) { Stop-VcError -Id 'VcParentNotFound' -Category ObjectNotFound -Message ("parent image {0} not found on the host" -f $ParentPath) }
    if (Test-Path -LiteralPath $VhdPath) { throw ("differencing disk {0} already exists" -f $VhdPath) }
    New-VHD -Path $VhdPath -ParentPath $ParentPath -Differencing | Out-Null
    $createdVhd = $true
    New-VM -Name $Name -Generation ([int]$Generation) -MemoryStartupBytes ([int64]$MemoryMB * 1048576) -VHDPath $VhdPath -SwitchName $SwitchName | Out-Null
    $createdVM = $true
    # The label goes on first, so a crash after this point is sweepable.
    Set-VM -Name $Name -Notes $Notes -AutomaticCheckpointsEnabled $false
    Set-VMProcessor -VMName $Name -Count $CPUs
    Set-VMMemory -VMName $Name -DynamicMemoryEnabled $false
    # Copy-VMFile (fcopy) needs the Guest Service Interface, off by default.
    # Chosen by its Id GUID: the display name is localised.
    Get-VMIntegrationService -VMName $Name | Where-Object { $_.Id -like '*\6C09BB55-D683-4DA0-8931-C9BF705F6480' } | Enable-VMIntegrationService
    if ($Generation -eq '2') {
        if ($SecureBoot -eq 'On') {
            Set-VMFirmware -VMName $Name -EnableSecureBoot On -SecureBootTemplate $SecureBootTemplate
        } else {
            Set-VMFirmware -VMName $Name -EnableSecureBoot Off
        }
    } else {
        # Generation 1 has no SCSI controller by default, and one cannot be
        # added to a running VM: add it now so disks can be hot-added later.
        Add-VMScsiController -VMName $Name
    }
    if ($SeedPath) { Add-VMDvdDrive -VMName $Name -Path $SeedPath }
    Start-VM -Name $Name
    $vm = Get-VM -Name $Name
    Out-VcJson ([ordered]@{ Name = $vm.Name; Id = $vm.Id.Guid; VhdPath = $VhdPath; State = [string]$vm.State })
} catch {
    $err = $_
    if ($createdVM) {
        Stop-VM -Name $Name -TurnOff -Force -ErrorAction SilentlyContinue
        Remove-VM -Name $Name -Force -ErrorAction SilentlyContinue
    }
    if ($createdVhd) { Remove-Item -LiteralPath $VhdPath -Force -ErrorAction SilentlyContinue }
    throw $err
}
