param(
    [Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$')][string]$Name,
    [ValidateRange(0, 3600)][int]$GraceSeconds = 20,
    [string]$SeedPath
)
{{template "prelude" .}}
{{template "remove" .}}
{{template "merge" .}}

# Idempotent: a VM that is already gone is not an error; a seed left over
# from a provision that failed before the DVD was attached is removed too.
$removed = @()
$vm = Get-VM -Name $Name -ErrorAction SilentlyContinue
if ($null -ne $vm) { $removed += Remove-VcVM -VM $vm -Grace $GraceSeconds }
if ($SeedPath -and (Test-Path -LiteralPath $SeedPath)) {
    Remove-Item -LiteralPath $SeedPath -Force
    $removed += [ordered]@{ Kind = 'seed'; Name = $SeedPath }
}
Out-VcJson @($removed)
