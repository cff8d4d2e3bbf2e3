param(
    [Parameter(Mandatory = $true)][ValidateNotNullOrEmpty()][string]$Path
)
{{template "prelude" .}}

# Preflight of the directory for differencing disks and seeds: create it
# when it is missing, then prove the WinRM user can write there (a probe
# file is created and deleted). Problems come back as data (Problem is
# NotADirectory, CreateFailed or NotWritable, Detail the exception's text),
# so the driver can say exactly what is wrong.
$out = [ordered]@{ Path = $Path; Created = $false; Problem = ''; Detail = '' }
if (Test-Path -LiteralPath $Path -PathType Leaf) {
    $out.Problem = 'NotADirectory'
} elseif (-not (Test-Path -LiteralPath $Path -PathType Container)) {
    try {
        New-Item -ItemType Directory -Path $Path -Force | Out-Null
        $out.Created = $true
    } catch {
        $out.Problem = 'CreateFailed'
        $out.Detail = $_.Exception.Message
    }
}
if (-not $out.Problem) {
    $probe = Join-Path $Path ('virtcert-probe-' + [guid]::NewGuid().ToString('N') + '.tmp')
    try {
        [IO.File]::WriteAllBytes($probe, [byte[]]@())
        Remove-Item -LiteralPath $probe -Force
    } catch {
        $out.Problem = 'NotWritable'
        $out.Detail = $_.Exception.Message
    }
}
Out-VcJson $out
