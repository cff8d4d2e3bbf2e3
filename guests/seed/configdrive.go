package seed

import (
	"crypto"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/virtcert/virtcert/drivers"
)

// ConfigDrive is what a guest reads from a Windows config drive, as
// cloudbase-init does: the hostname, the admin account and its
// password, and the WinRM listener's certificate with its key.
type ConfigDrive struct {
	InstanceID, Hostname, User string
	Password                   drivers.Secret
	// Cert is the listener's certificate and private key (from the
	// user_data's PFX); Thumbprint is the one the script checks.
	Cert       tls.Certificate
	Leaf       *x509.Certificate
	Thumbprint string
	// Port is the listener's port the script opens.
	Port string
}

var (
	udPFX        = regexp.MustCompile(`FromBase64String\('([A-Za-z0-9+/=]+)'\)`)
	udThumbprint = regexp.MustCompile(`\$cert\.Thumbprint -ne '([0-9A-F]{40})'`)
	udListener   = regexp.MustCompile(`(?m)^New-Item -Path 'WSMan:\\localhost\\Listener' -Transport HTTPS -Address \* -HostName '([^']+)' -CertificateThumbPrint '([0-9A-F]{40})'`)
	udPort       = regexp.MustCompile(`-LocalPort (\d+) `)
)

// ParseConfigDrive parses a config drive's files (by path, as
// WindowsFiles returns them): the one reader of the format WindowsFiles
// writes. It refuses a drive whose user_data would not set up the HTTPS
// listener with the PFX's certificate, as the script itself would.
func ParseConfigDrive(files map[string][]byte) (*ConfigDrive, error) {
	var md metaData
	if err := json.Unmarshal(files[MetaDataJSON], &md); err != nil {
		return nil, fmt.Errorf("seed: config drive: %s: %w", MetaDataJSON, err)
	}
	cd := &ConfigDrive{InstanceID: md.UUID, Hostname: md.Hostname, User: md.Meta["admin_username"], Password: drivers.Secret(md.AdminPass)}
	if cd.Hostname == "" || cd.User == "" || md.AdminPass == "" {
		return nil, fmt.Errorf("seed: config drive: %s lacks hostname, meta.admin_username or admin_pass", MetaDataJSON)
	}
	ud := string(files[UserDataFile])
	if !strings.HasPrefix(ud, "#ps1_sysnative\n") {
		return nil, fmt.Errorf("seed: config drive: %s is not a #ps1_sysnative script", UserDataFile)
	}
	p, tp, l, port := udPFX.FindStringSubmatch(ud), udThumbprint.FindStringSubmatch(ud), udListener.FindStringSubmatch(ud), udPort.FindStringSubmatch(ud)
	if p == nil || tp == nil || l == nil || port == nil {
		return nil, fmt.Errorf("seed: config drive: %s sets up no HTTPS listener (PFX, thumbprint check, listener, port)", UserDataFile)
	}
	if err := cd.loadPFX(p[1]); err != nil {
		return nil, err
	}
	cd.Port = port[1]
	switch {
	case tp[1] != cd.Thumbprint || l[2] != cd.Thumbprint:
		return nil, fmt.Errorf("seed: config drive: the script expects thumbprint %s, the PFX holds %s", tp[1], cd.Thumbprint)
	case l[1] != cd.Hostname:
		return nil, fmt.Errorf("seed: config drive: the listener names %q, the meta data %q", l[1], cd.Hostname)
	}
	return cd, nil
}

// loadPFX decodes the user_data's base64 PFX (empty password).
func (cd *ConfigDrive) loadPFX(b64 string) error {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return fmt.Errorf("seed: config drive: PFX: %w", err)
	}
	key, leaf, err := pkcs12.Decode(raw, "")
	if err != nil {
		return fmt.Errorf("seed: config drive: PFX: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return errors.New("seed: config drive: PFX: the key cannot sign")
	}
	// Windows' thumbprint: SHA-1 of the DER, upper-case hex.
	sum := sha1.Sum(leaf.Raw) //nolint:gosec // a name, not a trust decision
	cd.Leaf, cd.Thumbprint = leaf, strings.ToUpper(hex.EncodeToString(sum[:]))
	cd.Cert = tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: signer, Leaf: leaf}
	return nil
}
