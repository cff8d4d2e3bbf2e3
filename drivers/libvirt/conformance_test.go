package libvirt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/drivers/drivertest"
	"github.com/virtcert/virtcert/guests"
	"github.com/virtcert/virtcert/guests/seed"
)

// tinyDir returns the tiny guest's build directory, or skips.
func tinyDir(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("VIRTCERT_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "virtcert")
	}
	dir := filepath.Join(cache, "guests", "tiny")
	for _, f := range []string{"vmlinuz", "initrd.img", "disk.qcow2", "cmdline"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Skipf("tiny guest not built (%v): run make tiny", err)
		}
	}
	return dir
}

// tinySpec is a spec for the tiny guest with a fresh seed.
func tinySpec(t *testing.T, dir, name, label string) drivers.GuestSpec {
	t.Helper()
	ck, err := guests.NewClientKey("drivertest")
	if err != nil {
		t.Fatal(err)
	}
	hk, err := guests.NewHostKey(name)
	if err != nil {
		t.Fatal(err)
	}
	iso, err := seed.Build(seed.Config{InstanceID: label + "-" + name, Hostname: name, User: "root",
		AuthorizedKeys: []string{ck.AuthorizedKey()}, HostKey: hk, StageDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		t.Fatal(err)
	}
	return drivers.GuestSpec{
		Name: name, RunLabel: label, MemoryMB: 256, CPUs: 1, Seed: iso,
		Image: drivers.Image{
			Path: filepath.Join(dir, "disk.qcow2"), Format: "qcow2", OS: "linux",
			Kernel: filepath.Join(dir, "vmlinuz"), Initrd: filepath.Join(dir, "initrd.img"),
			Cmdline: strings.TrimSpace(string(cmdline)),
		},
	}
}

type labHarness struct {
	t   *testing.T
	uri string
	dir string
	h   *Host
}

func (lh *labHarness) Open(ctx context.Context) (drivers.Host, error) {
	h, err := open(ctx, lh.uri, labOpts())
	lh.h = h
	return h, err
}

func (lh *labHarness) Spec(name, label string) drivers.GuestSpec {
	return tinySpec(lh.t, lh.dir, name, label)
}

func (lh *labHarness) Config() drivertest.Config {
	return drivertest.Config{
		Provisions:  true,
		BootTimeout: 90 * time.Second,
		ACPI:        false, // the tiny guest's busybox init has no ACPI button handler
		Agent:       false, // and no qemu-guest-agent
		Unplug:      true,  // the kernel releases PCI devices itself (acpiphp)
		MakeUnlabelled: func(ctx context.Context) ([]string, func(context.Context) (bool, error), func(), error) {
			return makeUnlabelled(ctx, lh.h)
		},
	}
}

// makeUnlabelled defines a domain without our metadata and creates a
// volume without our name prefix: Sweep must never touch either.
func makeUnlabelled(ctx context.Context, h *Host) ([]string, func(context.Context) (bool, error), func(), error) {
	var b [3]byte
	rand.Read(b[:])
	name := "drivertest-unlabelled-" + hex.EncodeToString(b[:])
	volN := name + ".qcow2"
	d := libvirtxml.Domain{Type: "qemu", Name: name,
		Memory: &libvirtxml.DomainMemory{Value: 64, Unit: "MiB"},
		OS:     &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Arch: "x86_64", Type: "hvm"}},
		// A foreign tool's metadata: present, but not ours.
		Metadata: &libvirtxml.DomainMetadata{XML: `<x:note xmlns:x="https://example.com/other">` + name + `</x:note>`},
	}
	dx, err := d.Marshal()
	if err != nil {
		return nil, nil, nil, err
	}
	vx := mustVolXML(volN, "qcow2", 1<<20, "", "")
	err = do0(ctx, h.c, "make unlabelled", func(l *golibvirt.Libvirt) error {
		if _, err := l.DomainDefineXMLFlags(dx, 0); err != nil {
			return err
		}
		p, err := l.StoragePoolLookupByName(h.pool)
		if err != nil {
			return err
		}
		_, err = l.StorageVolCreateXML(p, vx, 0)
		return err
	})
	exists := func(ctx context.Context) (bool, error) {
		return do(ctx, h.c, "unlabelled exist", func(l *golibvirt.Libvirt) (bool, error) {
			if _, err := l.DomainLookupByName(name); err != nil {
				return false, err
			}
			p, err := l.StoragePoolLookupByName(h.pool)
			if err != nil {
				return false, err
			}
			_, err = l.StorageVolLookupByName(p, volN)
			return err == nil, err
		})
	}
	cleanup := func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		do0(c, h.c, "remove unlabelled", func(l *golibvirt.Libvirt) error {
			if dom, err := l.DomainLookupByName(name); err == nil {
				l.DomainUndefine(dom)
			}
			if p, err := l.StoragePoolLookupByName(h.pool); err == nil {
				if v, err := l.StorageVolLookupByName(p, volN); err == nil {
					l.StorageVolDelete(v, 0)
				}
			}
			return nil
		})
	}
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	return []string{name, volN}, exists, cleanup, nil
}

func TestLabConformance(t *testing.T) {
	uri := labURI(t)
	dir := tinyDir(t)
	drivertest.Run(t, &labHarness{t: t, uri: uri, dir: dir})
}

// TestLabRollback forces a failure after each step of Provision and
// checks that nothing is left.
func TestLabRollback(t *testing.T) {
	uri := labURI(t)
	dir := tinyDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	h := openLab(t, ctx, uri)
	label := drivertest.NewRunLabel()
	defer h.Sweep(context.Background(), drivers.SweepSelector{RunLabel: label})
	for _, step := range []string{"owner", "console", "overlay", "seed", "disks", "define", "start"} {
		h.failAt = step
		spec := tinySpec(t, dir, "rb-"+step, label)
		spec.ExtraDisks = []int{8}
		g, err := h.Provision(ctx, spec)
		if err == nil {
			g.Destroy(ctx, 0)
			t.Fatalf("step %s: no failure", step)
		}
		if !strings.Contains(err.Error(), "injected failure after step \""+step+"\"") {
			t.Fatalf("step %s: %v", step, err)
		}
		res, err := h.Sweep(ctx, drivers.SweepSelector{RunLabel: label, DryRun: true})
		if err != nil || len(res) > 0 {
			t.Fatalf("after a failure at step %s: left %v (%v)", step, res, err)
		}
		exists, _ := do(ctx, h.c, "lookup", func(l *golibvirt.Libvirt) (bool, error) {
			_, err := l.DomainLookupByName(spec.Name)
			return err == nil, nil
		})
		if exists {
			t.Fatalf("step %s: domain left behind", step)
		}
		// Sweep sees only what an owner record proves: look at the pool
		// itself for anything named for this guest.
		if left := guestVols(ctx, t, h, label, spec.Name); len(left) > 0 {
			t.Fatalf("step %s: volumes left behind: %v", step, left)
		}
	}
}

// guestVols lists the pool's volumes named for (label, guest).
func guestVols(ctx context.Context, t *testing.T, h *Host, label, guest string) []string {
	names, err := do(ctx, h.c, "list volumes", func(l *golibvirt.Libvirt) ([]string, error) {
		_, vols, err := poolVolumes(l, h.pool)
		var out []string
		for _, v := range vols {
			if strings.HasPrefix(v.Name, volGuestPrefix(label, guest)) {
				out = append(out, v.Name)
			}
		}
		return out, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestLabBootTiming measures what Provision adds to the guest's boot and
// checks the tiny guest saw the seed on the virtio-scsi cdrom.
func TestLabBootTiming(t *testing.T) {
	uri := labURI(t)
	dir := tinyDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	h := openLab(t, ctx, uri)
	if _, err := h.Info(ctx); err != nil { // the acceleration probe is not part of provisioning
		t.Fatal(err)
	}
	label := drivertest.NewRunLabel()
	defer h.Sweep(context.Background(), drivers.SweepSelector{RunLabel: label})
	for _, bus := range []string{"scsi", "virtio"} {
		spec := tinySpec(t, dir, "timing-"+bus, label)
		spec.Extra = map[string]string{"seed_bus": bus}
		start := time.Now()
		gi, err := h.Provision(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		g := gi.(*Guest)
		addr, err := g.Address(ctx)
		if err != nil {
			t.Fatal(err)
		}
		boot := time.Since(start)
		out, _ := g.Console(ctx)
		t.Logf("seed on %s: provision→running %s (DomainCreate %s); provision→address %s (%s)", bus, g.ProvisionTime.Round(time.Millisecond), g.StartTime.Round(time.Millisecond), boot.Round(100*time.Millisecond), addr)
		if g.ProvisionTime-g.StartTime > time.Second {
			t.Errorf("the driver's own work before DomainCreate took %s, over the 1 s budget", g.ProvisionTime-g.StartTime)
		}
		if !strings.Contains(string(out), "seed found on") || !strings.Contains(string(out), "1 authorized key(s)") {
			t.Errorf("seed on %s: the tiny guest did not read the seed; console:\n%s", bus, out)
		}
		if name, err := leaseHostname(ctx, h, addr); err != nil || name != spec.Name {
			t.Errorf("seed on %s: lease hostname %q (%v), want %q from the seed", bus, name, err, spec.Name)
		}
		if err := g.Destroy(ctx, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLabSweepOrphanVolumes: a run that died after its domain was
// undefined (or before it was defined) leaves volumes only. Sweep finds
// them by the owner record of their label and guest, by age too, and
// leaves a volume named like theirs that the record does not list.
func TestLabSweepOrphanVolumes(t *testing.T) {
	uri := labURI(t)
	dir := tinyDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h := openLab(t, ctx, uri)
	label := drivertest.NewRunLabel()
	defer h.Sweep(context.Background(), drivers.SweepSelector{RunLabel: label})
	spec := tinySpec(t, dir, "orphan", label)
	spec.ExtraDisks = []int{4}
	g, err := h.Provision(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	// A hot-added disk is appended to the owner record before it is made.
	if _, err := g.(*Guest).AttachDisk(ctx, 4); err != nil {
		t.Fatal(err)
	}
	if err := h.undefine(ctx, g.(*Guest).dom); err != nil {
		t.Fatal(err)
	}
	// Named like one of the guest's volumes, of the same label and guest,
	// but the owner record does not list it: it is not the run's.
	stray := volName(label, spec.Name, "hot99.qcow2")
	sv, err := h.createVol(ctx, "stray volume", mustVolXML(stray, "qcow2", 1<<20, "", ""), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer h.deleteVolDetached(context.Background(), sv.vol)
	time.Sleep(1100 * time.Millisecond) // volume mtimes have 1 s granularity on some filesystems
	young, err := h.Sweep(ctx, drivers.SweepSelector{RunLabel: label, OlderThan: time.Hour, DryRun: true})
	if err != nil || len(young) != 0 {
		t.Fatalf("volumes seconds old matched OlderThan 1h: %v %v", young, err)
	}
	other, err := h.Sweep(ctx, drivers.SweepSelector{RunLabel: "vc-some-other-run", DryRun: true})
	if err != nil || len(other) != 0 {
		t.Fatalf("another label matched our volumes: %v %v", other, err)
	}
	gone, err := h.Sweep(ctx, drivers.SweepSelector{RunLabel: label, OlderThan: time.Second / 2})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, r := range gone {
		kinds[r.Kind]++
	}
	// overlay, console, the extra disk, the hot disk and the owner record
	// are volumes; the seed is "seed". The owner record goes last.
	if kinds["volume"] != 5 || kinds["seed"] != 1 || kinds["domain"] != 0 || gone[len(gone)-1].Name != volName(label, spec.Name, kindOwner) {
		t.Fatalf("swept %v", gone)
	}
	for _, r := range gone {
		if r.Name == stray {
			t.Fatalf("swept %s, which no owner record lists", stray)
		}
	}
	if left, _ := h.Sweep(ctx, drivers.SweepSelector{RunLabel: label, DryRun: true}); len(left) != 0 {
		t.Fatalf("left: %v", left)
	}
}

// leaseHostname returns the hostname the guest sent with its DHCP request,
// as the network's lease table holds it. Both fixture guests take their
// hostname from the seed's meta-data before asking for a lease, so this
// proves the guest read the seed without logging in.
func leaseHostname(ctx context.Context, h *Host, addr string) (string, error) {
	return do(ctx, h.c, "leases", func(l *golibvirt.Libvirt) (string, error) {
		n, err := l.NetworkLookupByName(h.network)
		if err != nil {
			return "", err
		}
		leases, _, err := l.NetworkGetDhcpLeases(n, nil, 1, 0)
		if err != nil {
			return "", err
		}
		for _, le := range leases {
			if le.Ipaddr == addr && len(le.Hostname) > 0 {
				return le.Hostname[0], nil
			}
		}
		return "", nil
	})
}

// TestLabDebianSeesSeed boots the Debian fixture (disk boot, grub) with
// the seed on the default virtio-scsi cdrom and checks cloud-init read it.
func TestLabDebianSeesSeed(t *testing.T) {
	uri := labURISlots(t, 2)
	cache := os.Getenv("VIRTCERT_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "virtcert")
	}
	disk := filepath.Join(cache, "guests", "debian", "disk.qcow2")
	if _, err := os.Stat(disk); err != nil {
		t.Skipf("Debian guest not built (%v): run make debian", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	h := openLab(t, ctx, uri)
	label := drivertest.NewRunLabel()
	defer h.Sweep(context.Background(), drivers.SweepSelector{RunLabel: label})
	ck, _ := guests.NewClientKey("drivertest")
	hk, _ := guests.NewHostKey("deb")
	iso, err := seed.Build(seed.Config{InstanceID: label + "-deb", Hostname: "vc-deb-seedtest", User: "debian",
		AuthorizedKeys: []string{ck.AuthorizedKey()}, HostKey: hk, StageDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	g, err := h.Provision(ctx, drivers.GuestSpec{Name: "deb-seed", RunLabel: label, MemoryMB: 1024, CPUs: 2, Seed: iso,
		Image: drivers.Image{Path: disk, Format: "qcow2", OS: "linux", Firmware: "bios"}})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Destroy(context.Background(), 0)
	addr, err := g.Address(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Debian guest address %s after %s", addr, time.Since(start).Round(100*time.Millisecond))
	for {
		name, err := leaseHostname(ctx, h, addr)
		if err != nil {
			t.Fatal(err)
		}
		if name == "vc-deb-seedtest" {
			t.Logf("lease hostname %q from the seed after %s", name, time.Since(start).Round(100*time.Millisecond))
			break
		}
		select {
		case <-ctx.Done():
			out, _ := g.Console(context.Background())
			t.Fatalf("lease hostname %q, want the seed's vc-deb-seedtest; console tail:\n%s", name, tail(out, 3000))
		case <-time.After(2 * time.Second):
		}
	}

	// The Debian guest runs qemu-guest-agent: GuestClock works once it is up.
	gc := g.(drivers.GuestClock)
	for {
		gt, err := gc.GuestTime(ctx)
		if err == nil {
			off := time.Since(gt)
			t.Logf("guest agent time %s (host - guest = %s) after %s", gt.UTC().Format(time.RFC3339Nano), off, time.Since(start).Round(100*time.Millisecond))
			if off > time.Minute || off < -time.Minute {
				t.Errorf("guest time off by %s", off)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("guest agent never answered: %v", err)
		}
		time.Sleep(2 * time.Second)
	}

	// GuestTimeSync: an hour ahead through the agent, read back through
	// the agent, then back to our time.
	ts := g.(drivers.GuestTimeSync)
	ahead := time.Now().Add(time.Hour)
	if err := ts.SetGuestTime(ctx, ahead); err != nil {
		t.Fatalf("SetGuestTime: %v", err)
	}
	if gt, err := gc.GuestTime(ctx); err != nil || gt.Sub(time.Now()) < 59*time.Minute || gt.Sub(time.Now()) > 61*time.Minute {
		t.Errorf("after setting the guest an hour ahead, the agent reads %s (%v)", gt, err)
	}
	if err := ts.SetGuestTime(ctx, time.Now()); err != nil {
		t.Fatalf("SetGuestTime back: %v", err)
	}
	if gt, err := gc.GuestTime(ctx); err != nil || time.Since(gt).Abs() > 5*time.Second {
		t.Errorf("after setting the guest back, the agent reads %s (%v)", gt, err)
	}

	// systemd honours the ACPI power button once logind runs. Destroy right
	// after a restart may find the guest still booting (presses are lost
	// until then), so it may fall back to a forced stop after the grace.
	t0 := time.Now()
	sctx, cancelS := context.WithTimeout(ctx, 4*time.Minute)
	err = g.Power(sctx, drivers.PowerShutdown)
	cancelS()
	if err != nil {
		out, _ := g.Console(context.Background())
		t.Fatalf("graceful shutdown: %v; console tail:\n%s", err, tail(out, 3000))
	}
	t.Logf("ACPI shutdown took %s", time.Since(t0).Round(100*time.Millisecond))
	if err := g.Power(ctx, drivers.PowerStart); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Address(ctx); err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	if err := g.Destroy(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("Destroy with grace: %s", time.Since(t0).Round(100*time.Millisecond))
	if left, _ := h.Sweep(ctx, drivers.SweepSelector{RunLabel: label, DryRun: true}); len(left) > 0 {
		t.Errorf("left after Destroy: %v", left)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
