package seed

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests"
)

// ConfigDriveLabel is the volume label of an OpenStack config drive,
// which cloudbase-init's ConfigDriveService looks for (on a CD-ROM, a
// raw disk or a VFAT partition).
const ConfigDriveLabel = "config-2"

// Config drive file names (cloudbase-init reads the "latest" version).
const (
	MetaDataJSON = "openstack/latest/meta_data.json"
	UserDataFile = "openstack/latest/user_data"
)

// WinRMPort is the WinRM HTTPS listener's port (WinRM's default for
// HTTPS; the script opens it in the firewall).
const WinRMPort = 5986

// Windows describes one Windows guest's config drive.
type Windows struct {
	// InstanceID is the config drive's uuid: cloudbase-init runs its
	// per-instance plugins again when it changes. Required.
	InstanceID string
	// Hostname is set by cloudbase-init's SetHostNamePlugin. It must be a
	// NetBIOS name (at most 15 letters, digits and hyphens, not all
	// digits; WindowsHostname makes one) and the certificate's CN, which
	// the listener names. Required.
	Hostname string
	// User is the admin account cloudbase-init creates or updates
	// (meta_data "meta.admin_username"; the image's cloudbase-init.conf
	// username applies when its version ignores that key). Required.
	User string
	// Password is the account's password (meta_data "admin_pass", set by
	// SetUserPasswordPlugin with inject_user_password=true). It is
	// written only to meta_data.json, never to the script. Required.
	Password drivers.Secret
	// Cert is the listener's certificate; the harness pins it. Required.
	Cert *guests.WinRMCert
	// StageDir is where BuildWindows stages the image (see
	// Config.StageDir): meta_data.json holds the password and user_data
	// the certificate's private key. Required by BuildWindows.
	StageDir string
}

// Validate reports the first problem with w.
func (w Windows) Validate() error {
	switch {
	case w.InstanceID == "":
		return errors.New("seed: windows: instance id is required")
	case !netbiosRE.MatchString(w.Hostname) || strings.Trim(w.Hostname, "0123456789") == "":
		return fmt.Errorf("seed: windows: hostname %q is not a NetBIOS name (at most 15 letters, digits and hyphens)", w.Hostname)
	case !winUserRE.MatchString(w.User):
		return fmt.Errorf("seed: windows: bad user %q", w.User)
	case len(w.Password.Reveal()) < 12:
		return errors.New("seed: windows: the admin password must have at least 12 characters")
	case w.Cert == nil:
		return errors.New("seed: windows: the WinRM certificate is required")
	case w.Cert.CommonName() != w.Hostname:
		return fmt.Errorf("seed: windows: the certificate names %q, not the hostname %q", w.Cert.CommonName(), w.Hostname)
	}
	return nil
}

// winUserRE is a local Windows account name: at most 20 characters,
// none of the reserved ones.
var winUserRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,19}$`)

// netbiosRE is a Windows computer name cloudbase-init sets as is.
var netbiosRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,14}$`)

// WindowsHostname is a guest's Windows computer name: "vc-" and 12 hex
// digits of its guest name's SHA-256. Guest names are longer than
// NetBIOS' 15 characters and share the run label as a prefix, so cutting
// them (as cloudbase-init would) gives every guest of a run one name.
func WindowsHostname(guest string) string {
	sum := sha256.Sum256([]byte(guest))
	return "vc-" + hex.EncodeToString(sum[:6])
}

// metaData is the part of OpenStack's meta_data.json cloudbase-init reads.
type metaData struct {
	UUID      string            `json:"uuid"`
	Hostname  string            `json:"hostname"`
	Name      string            `json:"name"`
	AdminPass string            `json:"admin_pass"`
	Meta      map[string]string `json:"meta"`
}

// WindowsMetaData renders meta_data.json. It holds the admin password.
func WindowsMetaData(w Windows) ([]byte, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(metaData{UUID: w.InstanceID, Hostname: w.Hostname, Name: w.Hostname,
		AdminPass: w.Password.Reveal(), Meta: map[string]string{"admin_username": w.User}}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("seed: windows: meta_data.json: %w", err)
	}
	return append(b, '\n'), nil
}

// userDataScript is the user_data cloudbase-init's UserDataPlugin runs
// in 64-bit PowerShell (the "#ps1_sysnative" first line). It imports the
// harness's certificate, checks its thumbprint, replaces any HTTPS
// listener with one bound to it, opens the port, and lets a local
// administrator use WinRM with its full token. Every value is a literal
// the harness generated (hex, base64, digits), never free text.
var userDataScript = template.Must(template.New("user_data").Parse(`#ps1_sysnative
# virtcert: WinRM over HTTPS with the harness's pinned certificate.
$ErrorActionPreference = 'Stop'
$pfx = Join-Path $env:TEMP 'virtcert-winrm.pfx'
[IO.File]::WriteAllBytes($pfx, [Convert]::FromBase64String('{{.PFX}}'))
try {
    $cert = Import-PfxCertificate -FilePath $pfx -CertStoreLocation 'Cert:\LocalMachine\My'
} finally {
    Remove-Item -LiteralPath $pfx -Force
}
if ($cert.Thumbprint -ne '{{.Thumbprint}}') { throw "virtcert: imported certificate $($cert.Thumbprint) is not {{.Thumbprint}}" }
Get-ChildItem -Path 'WSMan:\localhost\Listener' | Where-Object { $_.Keys -contains 'Transport=HTTPS' } | Remove-Item -Recurse -Force
New-Item -Path 'WSMan:\localhost\Listener' -Transport HTTPS -Address * -HostName '{{.Hostname}}' -CertificateThumbPrint '{{.Thumbprint}}' -Force | Out-Null
New-NetFirewallRule -Name 'virtcert-winrm-https' -DisplayName 'virtcert WinRM HTTPS' -Direction Inbound -Protocol TCP -LocalPort {{.Port}} -Action Allow | Out-Null
New-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System' -Name LocalAccountTokenFilterPolicy -Value 1 -PropertyType DWord -Force | Out-Null
Set-Service -Name WinRM -StartupType Automatic
Restart-Service -Name WinRM
`))

// WindowsUserData renders user_data. It holds the certificate's private
// key (inside the PFX) but no password.
func WindowsUserData(w Windows) ([]byte, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	pfx, err := w.Cert.PFX()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := userDataScript.Execute(&b, struct{ PFX, Thumbprint, Hostname, Port string }{
		base64.StdEncoding.EncodeToString([]byte(pfx.Reveal())), w.Cert.Thumbprint(), w.Hostname, strconv.Itoa(WinRMPort)}); err != nil {
		return nil, fmt.Errorf("seed: windows: user_data: %w", err)
	}
	return b.Bytes(), nil
}

// WindowsFiles returns the config drive's files by path.
func WindowsFiles(w Windows) (map[string][]byte, error) {
	md, err := WindowsMetaData(w)
	if err != nil {
		return nil, err
	}
	ud, err := WindowsUserData(w)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{MetaDataJSON: md, UserDataFile: ud}, nil
}

// BuildWindows returns the config drive ISO for w, labelled config-2. It
// holds the admin password and the certificate's private key: store it
// like a key (0600).
func BuildWindows(w Windows) ([]byte, error) {
	files, err := WindowsFiles(w)
	if err != nil {
		return nil, err
	}
	return labelledISO(w.StageDir, ConfigDriveLabel, files)
}
