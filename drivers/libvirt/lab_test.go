package libvirt

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/drivers/drivertest"
	"github.com/virtcert/virtcert/internal/labslot"
)

// labURI returns the lab's libvirt URI, or skips with the reason, and
// takes one lab guest slot for t (internal/labslot: each lab test here
// boots one tiny guest at a time, or a short acceleration probe).
func labURI(t *testing.T) string {
	t.Helper()
	return labURISlots(t, 1)
}

// labURISlots is labURI taking n guest slots (a Debian guest counts two).
func labURISlots(t *testing.T, n int) string {
	t.Helper()
	uri := labURIOrSkip(t)
	labslot.Acquire(t, n)
	return uri
}

func labURIOrSkip(t *testing.T) string {
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

// openLab opens the lab's libvirtd, failing the test if it cannot; the
// host is closed when the test ends.
func openLab(t *testing.T, ctx context.Context, uri string) *Host {
	t.Helper()
	h, err := open(ctx, uri, labOpts())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func TestLabInfo(t *testing.T) {
	uri := labURI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	h := openLab(t, ctx, uri)
	t.Logf("open: %s", time.Since(start))
	start = time.Now()
	// Concurrent first calls (guests provisioned in parallel) share one probe.
	var wg sync.WaitGroup
	infos := make([]drivers.HostInfo, 3)
	errs := make([]error, 3)
	for i := range infos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			infos[i], errs[i] = h.Info(ctx)
		}()
	}
	wg.Wait()
	for i := range infos {
		if errs[i] != nil || infos[i].Accel != infos[0].Accel {
			t.Fatalf("Info %d: %+v %v", i, infos[i], errs[i])
		}
	}
	info := infos[0]
	t.Logf("info (with probe): %s: %+v", time.Since(start), info)
	h.mu.Lock()
	probed := slices.Clone(h.probed)
	h.mu.Unlock()
	if len(probed) > 1 {
		t.Errorf("%d probes for one connection: %v", len(probed), probed)
	}
	if info.Accel == "tcg" && (info.Nature != drivers.NatureEmulated || info.Hypervisor != "qemu" || len(info.Notes) == 0) {
		t.Errorf("tcg host described as %+v", info)
	}
	if info.Versions["libvirt"] == "" || info.Versions["qemu"] == "" || info.Name == "" || info.OS == "" {
		t.Errorf("incomplete info %+v", info)
	}
	// The probe domain and its volumes are torn down in the background;
	// once Close returns, none of them is left.
	h.Close()
	h2 := openLab(t, ctx, uri)
	left, err := do(ctx, h2.c, "list probe leftovers", func(l *golibvirt.Libvirt) ([]string, error) {
		var left []string
		doms, _, err := l.ConnectListAllDomains(1, 0)
		if err != nil {
			return nil, err
		}
		for _, d := range doms {
			left = append(left, "domain "+d.Name)
		}
		_, vols, err := poolVolumes(l, h2.pool)
		for _, v := range vols {
			left = append(left, "volume "+v.Name)
		}
		return left, err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range probed {
		for _, l := range left {
			if strings.Contains(l, name) {
				t.Errorf("after Close: %s of probe %s is left", l, name)
			}
		}
	}
}

// TestLabProbeDetects runs the acceleration probe with TCG, which works
// here: it must see the kernel banner, so a "kvm fails" verdict means the
// probe can tell the difference.
func TestLabProbeDetects(t *testing.T) {
	uri := labURI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := openLab(t, ctx, uri)
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

// TestLabResources: the lab's libvirtd reports this machine's memory and
// CPUs (it runs here, in a network namespace), through the conformance
// suite's contract check.
func TestLabResources(t *testing.T) {
	uri := labURI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got := drivertest.Resources(t, ctx, openLab(t, ctx, uri))
	if want := memTotalMB(t); got.TotalMemoryMB < want*95/100 || got.TotalMemoryMB > want {
		t.Errorf("total memory %d MiB; /proc/meminfo says %d MiB", got.TotalMemoryMB, want)
	}
	if got.CPUs < runtime.NumCPU() {
		t.Errorf("%d CPUs; this process sees %d", got.CPUs, runtime.NumCPU())
	}
}

// memTotalMB is MemTotal from /proc/meminfo in MiB.
func memTotalMB(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Skip(err)
	}
	var kib int64
	for _, line := range strings.Split(string(b), "\n") {
		if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kib); err == nil {
			return kib / 1024
		}
	}
	t.Fatal("no MemTotal in /proc/meminfo")
	return 0
}
