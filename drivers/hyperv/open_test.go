package hyperv

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
)

func TestOpenRejectsBadInput(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	creds := drivers.OpenOptions{Username: "u", Password: "p4ss-secret"}
	for _, tc := range []struct {
		uri  string
		opts drivers.OpenOptions
		want string
	}{
		{"https://u:p4ss-secret@host:5986/wsman", creds, "never in the URI"},
		{"http://127.0.0.1:5985/wsman", drivers.OpenOptions{Username: "u", Password: "p4ss-secret", Insecure: true, Extra: map[string]string{"auth": "basic"}}, "password readable"},
		{"ftp://host/wsman", creds, "scheme"},
		{"https://host:5986/other", creds, "/wsman"},
		{"https://host:99999/wsman", creds, "bad port"},
		{"https://127.0.0.1:1/wsman", drivers.OpenOptions{Username: "u"}, "needs a user name and a password"},
		{"https://127.0.0.1:1/wsman", drivers.OpenOptions{Username: "u", Password: "x", CACertFile: "/nonexistent/ca.pem"}, "ca_cert"},
		{"https://127.0.0.1:1/wsman", drivers.OpenOptions{Username: "u", Password: "x", Extra: map[string]string{"bogus": "1"}}, `unknown option "bogus"`},
		{"https://127.0.0.1:1/wsman", drivers.OpenOptions{Extra: map[string]string{"auth": "cert"}}, "needs client_cert and client_key"},
		{"http://127.0.0.1:1/wsman", drivers.OpenOptions{Insecure: true, Extra: map[string]string{"auth": "cert"}}, "needs https"},
	} {
		_, err := Open(ctx, tc.uri, tc.opts)
		if err == nil || drivers.ClassOf(err) != drivers.ClassInput || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v (class %v), want input error containing %q", tc.uri, err, drivers.ClassOf(err), tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "p4ss-secret") {
			t.Errorf("%s: the password leaked into the error: %v", tc.uri, err)
		}
	}
	// Unreachable: a host error, fast, with our deadline.
	_, err := Open(ctx, "https://127.0.0.1:1/wsman", creds)
	if err == nil || drivers.ClassOf(err) != drivers.ClassHost {
		t.Errorf("unreachable: %v", err)
	}
	// Local mode is for Windows only.
	if _, err := Open(ctx, "local", drivers.OpenOptions{}); err == nil {
		t.Error("local mode opened on a non-Windows test host")
	}
}

func TestMkdirCommandFitsEncodedCommand(t *testing.T) {
	cl := MkdirCommand()
	enc := strings.Fields(cl)[len(strings.Fields(cl))-1]
	s, err := DecodeCommand(enc)
	if err != nil || s != mkdirScript {
		t.Fatalf("round trip: %q %v", s, err)
	}
	// -EncodedCommand breaks at about 2.5 KB of script: stay far below.
	if len(enc) > 2000 {
		t.Fatalf("encoded mkdir is %d bytes", len(enc))
	}
	for _, c := range []func() (string, error){
		func() (string, error) { return EchoCommand("QUJD", `C:\T\a b\x.b64`) },
		func() (string, error) { return CertutilDecodeCommand(`C:\T\x.b64`, `C:\T\x.ps1`) },
	} {
		s, err := c()
		if err != nil || len(s) > 8191 {
			t.Fatalf("%q %v", s, err)
		}
	}
	if _, err := EchoCommand("QUJD", `C:\T\50%\x`); err == nil {
		t.Fatal("a % path was accepted")
	}
}
