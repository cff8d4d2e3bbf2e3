package libvirt

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
)

// labURI returns the lab's libvirt URI, or skips with the reason.
func labURI(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("VIRTCERT_LAB_DIR")
	if dir == "" {
		dir = "/var/tmp/virtcert-lab"
	}
	sock := filepath.Join(dir, "run", "libvirt-sock")
	if _, err := os.Stat(sock); err != nil {
		t.Skipf("lab not running (no socket %s): start it with make lab-up", sock)
	}
	if os.Getenv("VIRTCERT_E2E") != "1" {
		t.Skip("lab test: set VIRTCERT_E2E=1 to run it")
	}
	if u := os.Getenv("VIRTCERT_LAB_URI"); u != "" {
		return u
	}
	return "qemu:///system?socket=" + sock
}

func labOpts() drivers.OpenOptions {
	return drivers.OpenOptions{Extra: map[string]string{"network": "virtcert", "pool": "virtcert"}}
}

func TestLabInfo(t *testing.T) {
	uri := labURI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	h, err := Open(ctx, uri, labOpts())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	t.Logf("open: %s", time.Since(start))
	start = time.Now()
	info, err := h.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("info (with probe): %s: %+v", time.Since(start), info)
}

// TestLabProbeDetects runs the acceleration probe with TCG, which works
// here: it must see the kernel banner, so a "kvm fails" verdict means the
// probe can tell the difference.
func TestLabProbeDetects(t *testing.T) {
	uri := labURI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h, err := open(ctx, uri, labOpts())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	k := newestKernel()
	if k == "" {
		t.Skip("no /boot/vmlinuz-* to probe with")
	}
	// A generous deadline: TCG is slow, and this checks the detection, not speed.
	ok, why, err := h.probe(ctx, "qemu", k, 40*time.Second)
	if err != nil || !ok {
		t.Fatalf("TCG probe: ok=%v why=%q err=%v", ok, why, err)
	}
	t.Log(why)
}
