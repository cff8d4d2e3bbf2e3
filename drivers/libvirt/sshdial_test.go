package libvirt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/virtcert/virtcert/drivers"
)

// The checks sshDialer makes before dialling (the dial itself is proven
// against the remote lab host's OpenSSH: TestRemoteOpen, TestRemoteRefused).
func TestSSHDialerLoad(t *testing.T) {
	dir := t.TempDir()
	ed := writeFile(t, dir, "id", string(pemBytes(t)))
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPub, _ := ssh.NewPublicKey(&ec.PublicKey)
	kh := writeFile(t, dir, "known_hosts", "[h.example]:2222 "+string(ssh.MarshalAuthorizedKey(ecPub))+
		"other.example "+string(ssh.MarshalAuthorizedKey(newSSHPub(t))))
	load := func(uri string, o drivers.OpenOptions) (*sshDialer, error) {
		u, err := url.Parse(uri)
		if err != nil {
			t.Fatal(err)
		}
		d, err := newSSHDialer(u, o)
		if err != nil {
			return nil, err
		}
		return d, d.load()
	}
	q := "?keyfile=" + ed + "&known_hosts=" + kh
	d, err := load("qemu+ssh://admin@h.example:2222/system"+q, drivers.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Only the pinned key's type is offered, so the server presents it.
	if !slices.Equal(d.algos, []string{ssh.KeyAlgoECDSA256}) || d.user != "admin" || d.socket != defaultRemoteSocket || d.addr != "h.example:2222" {
		t.Errorf("dialer: %+v", d)
	}
	for _, tc := range []struct {
		uri   string
		opts  drivers.OpenOptions
		class drivers.Class
		want  string
	}{
		{"qemu+ssh://h.example/system" + q, drivers.OpenOptions{}, drivers.ClassSecurity, "host key of h.example:22 is not pinned: no entry in " + kh},
		{"qemu+ssh://h.example:2222/system?keyfile=" + ed + "&known_hosts=" + filepath.Join(dir, "none"), drivers.OpenOptions{}, drivers.ClassSecurity, "cannot read known_hosts"},
		{"qemu+ssh://h.example:2222/system?keyfile=" + filepath.Join(dir, "nokey") + "&known_hosts=" + kh, drivers.OpenOptions{}, drivers.ClassInput, "keyfile: " + filepath.Join(dir, "nokey")},
		{"qemu+ssh://h.example:2222/system?keyfile=" + kh + "&known_hosts=" + kh, drivers.OpenOptions{}, drivers.ClassInput, "keyfile " + kh},
	} {
		_, err := load(tc.uri, tc.opts)
		if err == nil || drivers.ClassOf(err) != tc.class || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v (class %s), want class %s and %q", tc.uri, err, drivers.ClassOf(err), tc.class, tc.want)
		}
	}
	u, _ := url.Parse("qemu+ssh://h.example:2222/system" + q)
	if _, err := newSSHDialer(u, drivers.OpenOptions{Insecure: true}); err == nil || !strings.Contains(err.Error(), "always pinned") {
		t.Errorf("insecure: %v", err)
	}
	// open: guest_via=host needs qemu+ssh; a bad value is input.
	for _, o := range []map[string]string{{"guest_via": "host"}, {"guest_via": "tunnel"}} {
		_, err := open(t.Context(), "qemu:///system?socket="+filepath.Join(dir, "nosock"), drivers.OpenOptions{Extra: o})
		if err == nil || drivers.ClassOf(err) != drivers.ClassInput || !strings.Contains(err.Error(), "guest_via") {
			t.Errorf("%v: %v", o, err)
		}
	}
}

func pemBytes(t *testing.T) []byte {
	t.Helper()
	return pem.EncodeToMemory(newSSHKeyPEM(t))
}

// The lab's heuristic (the NAT gateway is the controller) holds only on a
// local host; a remote host's gateway is that host.
func TestControllerLocalOnly(t *testing.T) {
	if got := (&Host{local: true}).Controller("192.168.150.7:22"); got != "192.168.150.1" {
		t.Errorf("local: %q", got)
	}
	if got := (&Host{}).Controller("192.168.151.7:22"); got != "" {
		t.Errorf("remote: %q, want none", got)
	}
}
