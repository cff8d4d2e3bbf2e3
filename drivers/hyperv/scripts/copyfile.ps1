param(
    [Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$')][string]$Name,
    [Parameter(Mandatory = $true)][ValidateNotNullOrEmpty()][string]$SourcePath,
    [Parameter(Mandatory = $true)][ValidatePattern('^/')][string]$DestinationPath
)
{{template "prelude" .}}

# Copy-VMFile goes through the guest's file copy service (hv_fcopy_daemon
# on Linux); it fails when the "Guest Service Interface" is disabled or the
# daemon is not running.
Copy-VMFile -Name $Name -SourcePath $SourcePath -DestinationPath $DestinationPath -FileSource Host -CreateFullPath -Force
Out-VcJson ([ordered]@{ Name = $Name; DestinationPath = $DestinationPath })
