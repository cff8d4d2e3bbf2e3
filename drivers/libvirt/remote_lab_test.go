package libvirt

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/fixtures/lab"
)

// The remote lab host (fixtures/lab/remote): a second libvirtd in netns
// $VIRTCERT_NETNS-r, reached from the lab netns at lab.RemoteIP over
// qemu+ssh (its sshd, key auth, host key pinned) and qemu+tls (a CA and
// certificates generated for it).
const remoteIP = lab.RemoteIP

// remoteDir returns the remote lab host's directory, or skips.
func remoteDir(t *testing.T) string {
	t.Helper()
	labURI(t)
	dir, err := lab.RemoteDir()
	if err != nil {
		t.Skipf("remote lab host not running (start it with fixtures/lab/remote up): %v", err)
	}
	return dir
}

func remoteOpts() drivers.OpenOptions {
	return drivers.OpenOptions{Extra: map[string]string{"network": "virtcert-remote", "pool": "virtcert-remote"}}
}

// TestRemoteOpen opens the remote host over each transport and checks it
// is the remote libvirtd (its own pool directory), not the lab's.
func TestRemoteOpen(t *testing.T) {
	dir := remoteDir(t)
	pki := filepath.Join(dir, "pki", "client")
	files := remoteOpts()
	files.CACertFile = filepath.Join(pki, "cacert.pem")
	files.ClientCertFile = filepath.Join(pki, "clientcert.pem")
	files.ClientKeyFile = filepath.Join(pki, "clientkey.pem")
	for _, tc := range []struct {
		name, uri string
		opts      drivers.OpenOptions
	}{
		{"ssh", lab.RemoteSSHURI(filepath.Join(dir, "ssh", "client_ed25519"), filepath.Join(dir, "ssh", "known_hosts")), remoteOpts()},
		{"tls-pkipath", "qemu+tls://" + remoteIP + "/system?pkipath=" + pki, remoteOpts()},
		{"tls-files", "qemu+tls://" + remoteIP + "/system", files},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			start := time.Now()
			h, err := open(ctx, tc.uri, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			if want := filepath.Join(dir, "pool"); h.poolPath != want || h.local {
				t.Errorf("pool %s (local %v), want the remote's %s", h.poolPath, h.local, want)
			}
			info, err := h.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(info.OS, "remote") || info.Versions["libvirt"] == "" {
				t.Errorf("info: %+v", info)
			}
			t.Logf("%s: open + info in %s: %s, libvirt %s", tc.name, time.Since(start).Round(time.Millisecond), info.OS, info.Versions["libvirt"])
		})
	}
}

// TestRemoteRefused: a host key that is not pinned or not the pinned one,
// a client key or certificate the host refuses, an untrusted server
// certificate and insecure: true over ssh each give one clear error of
// the right class (security, or input: exit 2 either way), with no
// password in it.
func TestRemoteRefused(t *testing.T) {
	dir := remoteDir(t)
	tmp := t.TempDir()
	key := filepath.Join(dir, "ssh", "client_ed25519")
	kh := filepath.Join(dir, "ssh", "known_hosts")
	empty := writeFile(t, tmp, "empty_known_hosts", "")
	other := writeFile(t, tmp, "other_known_hosts", remoteIP+" "+string(ssh.MarshalAuthorizedKey(newSSHPub(t))))
	stranger := writeFile(t, tmp, "stranger", string(pem.EncodeToMemory(newSSHKeyPEM(t))))
	pki := filepath.Join(dir, "pki")
	badCA := remoteOpts()
	badCA.CACertFile = writeFile(t, tmp, "otherca.pem", string(selfSigned(t)))
	badCA.ClientCertFile = filepath.Join(pki, "client", "clientcert.pem")
	badCA.ClientKeyFile = filepath.Join(pki, "client", "clientkey.pem")
	wrongDN := remoteOpts()
	wrongDN.CACertFile = filepath.Join(pki, "client", "cacert.pem")
	wrongDN.ClientCertFile, wrongDN.ClientKeyFile = signedClient(t, tmp, pki, "someone-else")
	insecure := remoteOpts()
	insecure.Insecure = true
	withPW := remoteOpts()
	withPW.Password = "hunter2"
	for _, tc := range []struct {
		name, uri string
		opts      drivers.OpenOptions
		class     drivers.Class
		want      string
	}{
		{"unpinned", lab.RemoteSSHURI(key, empty), remoteOpts(), drivers.ClassSecurity, "is not pinned: no entry in " + empty},
		{"no-known-hosts", lab.RemoteSSHURI(key, filepath.Join(tmp, "absent")), remoteOpts(), drivers.ClassSecurity, "is not pinned: cannot read known_hosts"},
		{"other-host-key", lab.RemoteSSHURI(key, other), remoteOpts(), drivers.ClassSecurity, "does not match the key pinned in " + other},
		{"wrong-client-key", lab.RemoteSSHURI(stranger, kh), withPW, drivers.ClassInput, "refused our credentials as user root"},
		{"insecure-ssh", lab.RemoteSSHURI(key, kh), insecure, drivers.ClassInput, "insecure: true does not apply to qemu+ssh"},
		{"untrusted-server-cert", "qemu+tls://" + remoteIP + "/system", badCA, drivers.ClassSecurity, "is not trusted"},
		{"client-cert-refused", "qemu+tls://" + remoteIP + "/system", wrongDN, drivers.ClassInput, "refused our client certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			h, err := open(ctx, tc.uri, tc.opts)
			if err == nil {
				h.Close()
				t.Fatal("opened; want an error")
			}
			if c := drivers.ClassOf(err); c != tc.class || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("class %s, error:\n%v\nwant class %s and %q", c, err, tc.class, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("password in the error: %v", err)
			}
			t.Logf("%s: %v", tc.name, err)
		})
	}
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newSSHPub(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newSSHKeyPEM(t *testing.T) *pem.Block {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	b, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// selfSigned is a CA certificate (PEM) that signed nothing of the lab's.
func selfSigned(t *testing.T) []byte {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "not-the-lab-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// signedClient makes a client certificate signed by the remote lab's CA
// whose CN is not in the host's tls_allowed_dn_list.
func signedClient(t *testing.T, dir, pki, cn string) (certFile, keyFile string) {
	t.Helper()
	caCert := readPEM(t, filepath.Join(pki, "ca", "cacert.pem"))
	ca, err := x509.ParseCertificate(caCert.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	caKeyAny, err := x509.ParsePKCS8PrivateKey(readPEM(t, filepath.Join(pki, "ca", "cakey.pem")).Bytes)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &k.PublicKey, caKeyAny)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(k)
	certFile = writeFile(t, dir, "client-"+cn+".pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile = writeFile(t, dir, "client-"+cn+"-key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})))
	return certFile, keyFile
}

func readPEM(t *testing.T, p string) *pem.Block {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("no PEM in %s", p)
	}
	return blk
}
