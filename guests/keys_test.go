package guests

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestClientKeyRoundTrip(t *testing.T) {
	k, err := NewClientKey("virtcert-run-1")
	if err != nil {
		t.Fatal(err)
	}
	line := k.AuthorizedKey()
	pub, comment, _, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		t.Fatalf("authorized_keys line %q does not parse: %v", line, err)
	}
	if len(rest) != 0 || comment != "virtcert-run-1" || pub.Type() != ssh.KeyAlgoED25519 {
		t.Fatalf("parsed %q: type %s comment %q rest %q", line, pub.Type(), comment, rest)
	}
	if !bytes.Equal(pub.Marshal(), k.PublicKey().Marshal()) {
		t.Fatal("authorized_keys line is not the key's public half")
	}

	pemBytes, err := k.PrivateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pemBytes, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n")) {
		t.Fatalf("not an OpenSSH private key: %.40q", pemBytes)
	}
	back, err := ParseKeyPair(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	if back.Fingerprint() != k.Fingerprint() || back.Comment != "virtcert-run-1" {
		t.Fatalf("round trip: got %s %q, want %s", back.Fingerprint(), back.Comment, k.Fingerprint())
	}
	// A signature from the parsed key verifies with the original public key.
	sig, err := back.Signer.Sign(nil, []byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	if err := k.PublicKey().Verify([]byte("data"), sig); err != nil {
		t.Fatalf("signature from parsed key: %v", err)
	}
}

func TestKeysAreFresh(t *testing.T) {
	a, _ := NewHostKey("a")
	b, _ := NewHostKey("b")
	if a.Fingerprint() == b.Fingerprint() {
		t.Fatal("two generated host keys are identical")
	}
}

func TestCommentMustBeOneLine(t *testing.T) {
	if _, err := NewClientKey("a\nssh-ed25519 AAAA evil"); err == nil {
		t.Fatal("multi-line comment accepted: it would inject an authorized_keys line")
	}
}

func TestWritePrivateKeyMode(t *testing.T) {
	k, err := NewClientKey("c")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "id_ed25519")
	// An existing world-readable file must be replaced, not reused.
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := k.WritePrivateKey(p); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	back, err := LoadClientKey(p)
	if err != nil {
		t.Fatal(err)
	}
	if back.Fingerprint() != k.Fingerprint() {
		t.Fatal("loaded key differs")
	}
	if runtime.GOOS != "windows" {
		if out, err := exec.Command("ssh-keygen", "-y", "-f", p).Output(); err == nil {
			if got := strings.Fields(string(out)); len(got) < 2 || !strings.HasPrefix(k.AuthorizedKey(), got[0]+" "+got[1]) {
				t.Fatalf("ssh-keygen -y says %q, want %q", out, k.AuthorizedKey())
			}
		} else if _, lerr := exec.LookPath("ssh-keygen"); lerr == nil {
			t.Fatalf("ssh-keygen rejects our key file: %v", err)
		}
	}
}

// The tiny guest converts the injected host key with dropbearconvert; make
// sure the format we write is one it reads.
func TestHostKeyConvertsForDropbear(t *testing.T) {
	conv, err := exec.LookPath("dropbearconvert")
	if err != nil {
		t.Skip("dropbearconvert not installed (Debian package dropbear-bin)")
	}
	k, err := NewHostKey("guest-1")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "ssh_host_ed25519_key")
	if err := k.WritePrivateKey(in); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "dropbear_ed25519_host_key")
	if b, err := exec.Command(conv, "openssh", "dropbear", in, out).CombinedOutput(); err != nil {
		t.Fatalf("dropbearconvert: %v: %s", err, b)
	}
	b, err := exec.Command("dropbearkey", "-y", "-f", out).CombinedOutput()
	if err != nil {
		t.Fatalf("dropbearkey -y: %v: %s", err, b)
	}
	pubFields := strings.Fields(k.AuthorizedKey())
	if !strings.Contains(string(b), pubFields[0]+" "+pubFields[1]) {
		t.Fatalf("dropbear's public key differs:\n%s\nwant %s", b, k.AuthorizedKey())
	}
}

func TestNoSecretInFormatting(t *testing.T) {
	k, _ := NewHostKey("h")
	pemBytes, _ := k.PrivateKeyPEM()
	body := strings.Split(string(pemBytes), "\n")[1]
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "key", k, "kp", k.KeyPair)
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k.KeyPair), logged.String(), fmt.Errorf("w: %v", k).Error()} {
		if strings.Contains(s, body[:20]) || strings.Contains(s, "PRIVATE") {
			t.Fatalf("private key material in formatted output: %q", s)
		}
		if !strings.Contains(s, k.Fingerprint()) {
			t.Fatalf("formatted output %q lacks the fingerprint", s)
		}
	}
}
