package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/resolve"
)

// TestDryRunWindowsTransport: `run --dry-run --os windows` resolves the
// target to WinRM whatever the driver registered; a Linux image keeps
// the driver's transport (the test driver's "testdrv-t").
func TestDryRunWindowsTransport(t *testing.T) {
	img := filepath.Join(t.TempDir(), "d.qcow2")
	os.WriteFile(img, []byte("x"), 0o644)
	base := []string{"run", "--dry-run", "--driver", "testdrv", "--uri", "test://one", "--image", img}
	for osName, want := range map[string]string{"windows": "transport winrm, os windows", "linux": "transport testdrv-t, os linux"} {
		if code, out, err := exec(t, append(base, "--os", osName)...); code != 0 || !strings.Contains(out, want) {
			t.Errorf("--os %s: %d %v, want %q in:\n%.600s", osName, code, err, want, out)
		}
	}
}

// TestResolvedTransportsAreBuiltIn: the transport kinds resolve decides
// by the image's OS are the names the transports register their dialers
// under in this binary (the two are spelled in different packages; a
// rename on one side would fail every run at dial time).
func TestResolvedTransportsAreBuiltIn(t *testing.T) {
	for _, k := range []string{resolve.TransportSSH, resolve.TransportWinRM} {
		if !slices.Contains(transport.Kinds(), k) {
			t.Errorf("resolve's transport %q has no dialer in virtcert (have %v)", k, transport.Kinds())
		}
	}
}
