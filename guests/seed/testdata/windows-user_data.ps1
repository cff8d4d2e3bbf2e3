#ps1_sysnative
# virtcert: WinRM over HTTPS with the harness's pinned certificate.
$ErrorActionPreference = 'Stop'
$pfx = Join-Path $env:TEMP 'virtcert-winrm.pfx'
[IO.File]::WriteAllBytes($pfx, [Convert]::FromBase64String('<PFX>'))
try {
    $cert = Import-PfxCertificate -FilePath $pfx -CertStoreLocation 'Cert:\LocalMachine\My'
} finally {
    Remove-Item -LiteralPath $pfx -Force
}
if ($cert.Thumbprint -ne '<THUMBPRINT>') { throw "virtcert: imported certificate $($cert.Thumbprint) is not <THUMBPRINT>" }
Get-ChildItem -Path 'WSMan:\localhost\Listener' | Where-Object { $_.Keys -contains 'Transport=HTTPS' } | Remove-Item -Recurse -Force
New-Item -Path 'WSMan:\localhost\Listener' -Transport HTTPS -Address * -HostName 'vc-eb179a41fd6a' -CertificateThumbPrint '<THUMBPRINT>' -Force | Out-Null
New-NetFirewallRule -Name 'virtcert-winrm-https' -DisplayName 'virtcert WinRM HTTPS' -Direction Inbound -Protocol TCP -LocalPort 5986 -Action Allow | Out-Null
New-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System' -Name LocalAccountTokenFilterPolicy -Value 1 -PropertyType DWord -Force | Out-Null
Set-Service -Name WinRM -StartupType Automatic
Restart-Service -Name WinRM
