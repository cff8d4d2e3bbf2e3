param(
    [Parameter(Mandatory = $true)][ValidateNotNullOrEmpty()][string]$Path
)
{{template "prelude" .}}

# Hashes one file, or every file in a directory, so the driver can prove an
# upload arrived intact.
$files = @(Get-Item -LiteralPath $Path)
if ($files[0].PSIsContainer) { $files = @(Get-ChildItem -LiteralPath $Path -File) }
Out-VcJson @($files | ForEach-Object {
    [ordered]@{ Name = $_.Name; Length = $_.Length; SHA256 = (Get-FileHash -LiteralPath $_.FullName -Algorithm SHA256).Hash.ToLowerInvariant() }
})
