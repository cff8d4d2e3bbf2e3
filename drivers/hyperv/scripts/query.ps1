param(
    [Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$')][string]$Name,
    [switch]$Kvp,
    [switch]$Neighbors
)
{{template "prelude" .}}
{{template "kvp" .}}

# One round trip for everything the driver polls: power state, heartbeat,
# NICs with the addresses Hyper-V learned from the guest, integration
# services, the memory and vCPUs the VM runs with (RunningConfig), and
# (with -Kvp) the guest's intrinsic KVP items. With -Neighbors, a NIC whose
# addresses Hyper-V did not learn (the guest runs no KVP daemon: stock
# Debian, Ubuntu and RHEL cloud images) gets the IPv4 addresses the host's
# neighbour cache holds for its MAC on the switch's host interface
# ("vEthernet (<switch>)").
function Get-VcNeighbor([string]$Mac, [string]$Switch) {
    $hex = $Mac -replace '[^0-9A-Fa-f]', ''
    if ($hex.Length -ne 12 -or -not $Switch) { return @() }
    $ll = ($hex.ToUpperInvariant() -split '(..)' | Where-Object { $_ }) -join '-'
    $alias = 'vEthernet ({0})' -f $Switch
    return @(Get-NetNeighbor -AddressFamily IPv4 -LinkLayerAddress $ll -ErrorAction SilentlyContinue |
        Where-Object { $_.InterfaceAlias -eq $alias -and [string]$_.State -notin @('Unreachable', 'Incomplete') } |
        ForEach-Object { [string]$_.IPAddress })
}
$vm = Get-VM -Name $Name -ErrorAction SilentlyContinue
if ($null -eq $vm) {
    Out-VcJson ([ordered]@{ Exists = $false; Name = $Name })
    exit 0
}
$nics = @(Get-VMNetworkAdapter -VM $vm | ForEach-Object {
    $ips = @($_.IPAddresses | Where-Object { $_ })
    $near = @()
    if ($Neighbors -and $ips.Count -eq 0 -and $_.Connected) { $near = @(Get-VcNeighbor -Mac ([string]$_.MacAddress) -Switch ([string]$_.SwitchName)) }
    [ordered]@{ Name = $_.Name; MacAddress = [string]$_.MacAddress; SwitchName = [string]$_.SwitchName; Connected = [bool]$_.Connected; IPAddresses = $ips; NeighborAddresses = $near }
})
$services = @(Get-VMIntegrationService -VM $vm | ForEach-Object {
    [ordered]@{ Id = [string]$_.Id; Name = $_.Name; Enabled = [bool]$_.Enabled; PrimaryStatus = [string]$_.PrimaryOperationalStatus; PrimaryStatusDescription = [string]$_.PrimaryStatusDescription; SecondaryStatusDescription = [string]$_.SecondaryStatusDescription }
})
$items = $null
if ($Kvp) { $items = Get-VcKvp -VM $vm }
Out-VcJson ([ordered]@{
    Exists              = $true
    Name                = $vm.Name
    Id                  = $vm.Id.Guid
    State               = [string]$vm.State
    Heartbeat           = [string]$vm.Heartbeat
    Generation          = [int]$vm.Generation
    Notes               = [string]$vm.Notes
    Uptime              = [int]$vm.Uptime.TotalSeconds
    MemoryStartupMB     = [int64]($vm.MemoryStartup / 1048576)
    ProcessorCount      = [int]$vm.ProcessorCount
    NetworkAdapters     = $nics
    IntegrationServices = $services
    Kvp                 = $items
})
