{{template "prelude" .}}

# Get-VMHost fails with "The term 'Get-VMHost' is not recognized" when the
# Hyper-V module is missing; the driver turns that into a host error.
$vmhost = Get-VMHost
$os = Get-CimInstance -ClassName Win32_OperatingSystem
$mod = Get-Module -ListAvailable -Name Hyper-V | Sort-Object -Property Version -Descending | Select-Object -First 1
$modVersion = ''
if ($null -ne $mod) { $modVersion = $mod.Version.ToString() }
Out-VcJson ([ordered]@{
    ComputerName        = $env:COMPUTERNAME
    OSCaption           = [string]$os.Caption
    OSVersion           = [string]$os.Version
    OSBuild             = [string]$os.BuildNumber
    HyperVModule        = $modVersion
    VirtualHardDiskPath = [string]$vmhost.VirtualHardDiskPath
    Switches            = @(Get-VMSwitch | ForEach-Object { $_.Name })
    Nature              = 'real'
    Notes               = @()
})
