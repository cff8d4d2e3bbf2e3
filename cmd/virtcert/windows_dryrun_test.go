package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
