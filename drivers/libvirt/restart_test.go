//go:build linux

package libvirt

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/drivers/drivertest"
)

// TestLabLibvirtdRestart kills libvirtd under a live Host and guest, brings
// it back with `lab up`, and checks the same Host carries on (reconnect).
// It kills the lab's daemon, so it runs only when VIRTCERT_LAB_RESTART_OK=1
// says the lab is yours alone.
func TestLabLibvirtdRestart(t *testing.T) {
	uri := labURI(t)
	dir := tinyDir(t)
	if os.Getenv("VIRTCERT_LAB_RESTART_OK") != "1" {
		t.Skip("kills and restarts the lab's libvirtd: set VIRTCERT_LAB_RESTART_OK=1 on a lab nobody else uses")
	}
	labDir := os.Getenv("VIRTCERT_LAB_DIR")
	if labDir == "" {
		labDir = "/var/tmp/virtcert-lab"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	h := openLab(t, ctx, uri)
	label := drivertest.NewRunLabel()
	defer h.Sweep(context.Background(), drivers.SweepSelector{RunLabel: label})
	g, err := h.Provision(ctx, tinySpec(t, dir, "restart", label))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Destroy(context.Background(), 0)

	pidb, err := os.ReadFile(filepath.Join(labDir, "pids", "libvirtd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(pidb)))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	st, err := g.State(ctx)
	if err == nil {
		t.Fatalf("State with libvirtd dead: %s, no error", st)
	}
	if drivers.ClassOf(err) != drivers.ClassHost {
		t.Errorf("libvirtd dead classified %s: %v", drivers.ClassOf(err), err)
	}
	t.Logf("while down: %v", err)
	up := exec.CommandContext(ctx, "../../fixtures/lab/lab", "up")
	if out, err := up.CombinedOutput(); err != nil {
		t.Fatalf("lab up: %v\n%s", err, out)
	}
	// Same Host, same Guest: the next call reconnects; the domain (QEMU
	// outlives libvirtd) is still there and still ours.
	st, err = g.State(ctx)
	if err != nil || st != drivers.StateRunning {
		t.Fatalf("after restart: %s %v", st, err)
	}
	if _, err := g.Address(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := h.Sweep(ctx, drivers.SweepSelector{RunLabel: label, DryRun: true})
	if err != nil || len(res) == 0 {
		t.Fatalf("sweep after restart: %v %v", res, err)
	}
	if err := g.Destroy(ctx, 0); err != nil {
		t.Fatal(err)
	}
}
