param(
    [ValidatePattern('^[A-Za-z0-9._-]*$')][string]$RunLabel,
    [ValidateRange(0, 315360000)][int]$OlderThanSeconds = 0,
    [ValidateRange(0, 3600)][int]$GraceSeconds = 5,
    [switch]$DryRun
)
{{template "prelude" .}}
{{template "remove" .}}
{{template "merge" .}}

# Finds VMs by the virtcert label in their Notes (a line of its own,
# "virtcert.run=<label>", with "virtcert.created=<rfc3339>") and removes
# those that match. VMs without a label are never listed, let alone removed.
$now = [DateTime]::UtcNow
$found = @()
foreach ($vm in @(Get-VM)) {
    $label = Get-VcLabel $vm
    if ($null -eq $label) { continue }
    if ($RunLabel -and $label -cne $RunLabel) { continue }
    $created = $vm.CreationTime.ToUniversalTime()
    if ([string]$vm.Notes -cmatch '(?m)^virtcert\.created=([0-9TZ:.+-]+)\r?$' -or [string]$vm.Notes -cmatch '(?m)^virtcert\.run=[A-Za-z0-9._-]+;created=([0-9TZ:.+-]+)\r?$') { $created = [DateTime]::Parse($Matches[1]).ToUniversalTime() }
    if ($OlderThanSeconds -gt 0 -and ($now - $created).TotalSeconds -lt $OlderThanSeconds) { continue }
    $found += [ordered]@{ Kind = 'vm'; Name = $vm.Name; RunLabel = $label; Created = $created.ToString('o') }
    if (-not $DryRun) { Remove-VcVM -VM $vm -Grace $GraceSeconds | Out-Null }
}

# Script directories that earlier connections left in %TEMP% (a crashed
# run): virtcert-<32 hex> holding put.ps1, older than a day (or than
# -OlderThanSeconds when longer), never this connection's own. Only a sweep
# without -RunLabel removes them: they belong to a connection, not a run.
if (-not $RunLabel) {
    $cut = $now.AddSeconds(-[Math]::Max($OlderThanSeconds, 86400))
    foreach ($d in @(Get-ChildItem -LiteralPath ([IO.Path]::GetTempPath()) -Directory -Filter 'virtcert-*' -ErrorAction SilentlyContinue)) {
        if ($d.Name -cnotmatch '^virtcert-[0-9a-f]{32}$' -or $d.FullName -eq $PSScriptRoot) { continue }
        if (-not (Test-Path -LiteralPath (Join-Path $d.FullName 'put.ps1')) -or $d.CreationTimeUtc -gt $cut) { continue }
        $found += [ordered]@{ Kind = 'tempdir'; Name = $d.FullName; RunLabel = ''; Created = $d.CreationTimeUtc.ToString('o') }
        if (-not $DryRun) { Remove-Item -LiteralPath $d.FullName -Recurse -Force }
    }
}
Out-VcJson @($found)
