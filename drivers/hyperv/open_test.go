package hyperv

import (
	"context"
	"os"
	"path/filepath"
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
	// -EncodedCommand breaks at about 2.5 KB of script (cmd.exe's 8191
	// characters, base64 of UTF-16): stay below.
	if len(mkdirScript) > 2300 || len(cl) > 8191 {
		t.Fatalf("mkdir script %d characters, command line %d", len(mkdirScript), len(cl))
	}
	if !strings.Contains(s, strings.ReplaceAll(putScript, "'", "''")) {
		t.Fatal("mkdir does not write put.ps1")
	}
	for _, w := range []string{"certutil", "echo "} {
		if strings.Contains(strings.ToLower(s+putScript), w) {
			t.Fatalf("upload path uses %q", w)
		}
	}
	params, err := ParseParamBlock(putScript)
	if err != nil || len(params) != 4 {
		t.Fatalf("put.ps1 param block: %v %v", params, err)
	}
}

// TestPutScriptSyntax parses put.ps1 with the PowerShell grammar.
func TestPutScriptSyntax(t *testing.T) {
	f := filepath.Join(t.TempDir(), "put.ps1")
	if err := os.WriteFile(f, []byte(putScript), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := psCheck(t, f); code != 0 {
		t.Fatalf("put.ps1: %s", out)
	}
}
