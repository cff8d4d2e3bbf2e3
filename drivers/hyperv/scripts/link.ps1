param(
    [Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$')][string]$Name,
    [Parameter(Mandatory = $true)][ValidateRange(0, 63)][int]$Index,
    [Parameter(Mandatory = $true)][ValidateSet('Up', 'Down')][string]$State,
    [Parameter(Mandatory = $true)][ValidateNotNullOrEmpty()][string]$SwitchName
)
{{template "prelude" .}}

# Hyper-V has no link-state switch: disconnecting the adapter from its
# virtual switch is what the guest sees as carrier loss.
$nics = @(Get-VMNetworkAdapter -VMName $Name)
if ($Index -ge $nics.Count) { throw ("VM {0} has {1} network adapter(s), no index {2}" -f $Name, $nics.Count, $Index) }
$nic = $nics[$Index]
if ($State -eq 'Down') { Disconnect-VMNetworkAdapter -VMNetworkAdapter $nic }
else { Connect-VMNetworkAdapter -VMNetworkAdapter $nic -SwitchName $SwitchName }
Out-VcJson ([ordered]@{ Index = $Index; Connected = ($State -eq 'Up') })
