// Package drivertest is the conformance suite every host driver passes
// (after go-cloud's drivertest): it checks the contracts written in
// drivers/driver.go against a real host.
//
//	func TestConformance(t *testing.T) { drivertest.Run(t, myHarness{}) }
//
// The suite provisions real guests, so a driver's harness decides when it
// can run (a lab, an env var) and skips otherwise.
package drivertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
)

// Harness connects the suite to one driver.
type Harness interface {
	// Open connects to the host under test.
	Open(ctx context.Context) (drivers.Host, error)
	// Spec returns a spec for a bootable guest (for the existing driver:
	// whatever Provision needs to reach the machine).
	Spec(name, runLabel string) drivers.GuestSpec
	// Config describes what the driver and the guest image can do.
	Config() Config
}

// Config tells the suite what to expect.
type Config struct {
	// Provisions is false for drivers that only reach machines that
	// already run (nothing is created or destroyed).
	Provisions bool
	// BootTimeout bounds Provision → Address (default 2 minutes).
	BootTimeout time.Duration
	// ACPI: the guest honours the ACPI power button, so PowerShutdown
	// completes. Without it the suite only checks that PowerShutdown
	// returns when its context ends.
	ACPI bool
	// Agent: the guest runs the QEMU guest agent (GuestClock must work).
	Agent bool
	// Unplug: the guest releases hot-plugged PCI devices on request, so
	// DetachDisk/DetachNIC complete.
	Unplug bool
	// MakeUnlabelled creates a resource on the host without any virtcert
	// label (a domain, a volume), to prove Sweep leaves it alone. It
	// returns the resource names, a function telling whether they still
	// exist, and a cleanup. Nil skips that part with a reason.
	MakeUnlabelled func(ctx context.Context) (names []string, exists func(context.Context) (bool, error), cleanup func(), err error)
}

// NewRunLabel returns a fresh run label for a test run.
func NewRunLabel() string {
	var b [3]byte
	rand.Read(b[:])
	return "vc-dt-" + time.Now().UTC().Format("150405") + "-" + hex.EncodeToString(b[:])
}

// Run runs the conformance suite.
func Run(t *testing.T, h Harness) {
	cfg := h.Config()
	if cfg.BootTimeout == 0 {
		cfg.BootTimeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	host, err := h.Open(ctx)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer host.Close()

	t.Run("Info", func(t *testing.T) { testInfo(t, ctx, host) })
	t.Run("HostCapabilities", func(t *testing.T) { testHostCaps(t, ctx, host) })
	if !cfg.Provisions {
		t.Run("Existing", func(t *testing.T) { testExisting(t, ctx, host, h) })
		return
	}
	t.Run("ProvisionCancelled", func(t *testing.T) { testCancelled(t, ctx, host, h) })
	t.Run("BadImageLeavesNothing", func(t *testing.T) { testBadImage(t, ctx, host, h) })
	t.Run("SweepLeak", func(t *testing.T) { testSweep(t, ctx, host, h, cfg) })
	t.Run("Lifecycle", func(t *testing.T) { testLifecycle(t, ctx, host, h, cfg) })
}

func testInfo(t *testing.T, ctx context.Context, host drivers.Host) {
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	info, err := host.Info(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("host info: %+v", info)
	if info.Driver == "" || info.Hypervisor == "" || info.Name == "" {
		t.Errorf("Driver, Hypervisor and Name must be set: %+v", info)
	}
	if d, ok := drivers.Lookup(info.Driver); ok && len(d.Hypervisors) > 0 && !slices.Contains(d.Hypervisors, info.Hypervisor) {
		t.Errorf("Hypervisor %q is not one the %s driver declares (%v)", info.Hypervisor, info.Driver, d.Hypervisors)
	}
	if !slices.Contains([]string{drivers.NatureReal, drivers.NatureEmulated, drivers.NatureSimulated}, info.Nature) {
		t.Errorf("Nature %q is not one of real, emulated, simulated", info.Nature)
	}
	if info.Nature != drivers.NatureReal && len(info.Notes) == 0 {
		t.Errorf("a %s host must explain itself in Notes", info.Nature)
	}
	if info.Driver == "libvirt" && info.Accel != "kvm" && info.Accel != "tcg" {
		t.Errorf("libvirt Accel %q: want kvm or tcg", info.Accel)
	}
	// Cached: a second call is fast and equal.
	start := time.Now()
	again, err := host.Info(c)
	if err != nil || again.Accel != info.Accel || again.Name != info.Name {
		t.Errorf("second Info differs: %+v, %v", again, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("second Info took %s; it must be cached", d)
	}
}

// leftovers returns what Sweep would remove for label.
func leftovers(t *testing.T, ctx context.Context, host drivers.Host, label string) []drivers.Resource {
	t.Helper()
	c, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	res, err := host.Sweep(c, drivers.SweepSelector{RunLabel: label, DryRun: true})
	if err != nil {
		t.Fatalf("sweep dry run: %v", err)
	}
	return res
}

// cleanupLabel sweeps label at the end of a test whatever happened.
func cleanupLabel(t *testing.T, host drivers.Host, label string) {
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if res, err := host.Sweep(c, drivers.SweepSelector{RunLabel: label}); err != nil || len(res) > 0 {
			t.Logf("final sweep of %s: removed %v, err %v", label, res, err)
		}
	})
}

func testCancelled(t *testing.T, ctx context.Context, host drivers.Host, h Harness) {
	label := NewRunLabel()
	cleanupLabel(t, host, label)
	c, cancel := context.WithCancel(ctx)
	cancel()
	start := time.Now()
	g, err := host.Provision(c, h.Spec("dt-cancel", label))
	if err == nil {
		g.Destroy(ctx, 0)
		t.Fatal("Provision with a cancelled context succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Provision with a cancelled context took %s", d)
	}
	if res := leftovers(t, ctx, host, label); len(res) > 0 {
		t.Errorf("a cancelled Provision left %v", res)
	}

	// Cancelled in the middle: after a short deadline.
	c2, cancel2 := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel2()
	start = time.Now()
	g, err = host.Provision(c2, h.Spec("dt-cancel2", label))
	took := time.Since(start)
	if err == nil {
		// Fast enough to finish: fine, but then it must destroy cleanly.
		if err := g.Destroy(ctx, 0); err != nil {
			t.Fatalf("destroy: %v", err)
		}
	} else if took > 10*time.Second {
		t.Errorf("Provision cancelled after 150ms returned only after %s", took)
	}
	if res := leftovers(t, ctx, host, label); len(res) > 0 {
		t.Errorf("a Provision cancelled mid-way left %v", res)
	}
}

func testBadImage(t *testing.T, ctx context.Context, host drivers.Host, h Harness) {
	label := NewRunLabel()
	cleanupLabel(t, host, label)
	spec := h.Spec("dt-badimage", label)
	spec.Image.Path = "/nonexistent/virtcert-drivertest/no-such-image.qcow2"
	c, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	g, err := host.Provision(c, spec)
	if err == nil {
		g.Destroy(ctx, 0)
		t.Fatal("Provision of a missing image succeeded")
	}
	t.Logf("bad image: %v", err)
	if cl := drivers.ClassOf(err); cl != drivers.ClassInput {
		t.Errorf("bad image path classified %s, want input", cl)
	}
	if !strings.Contains(err.Error(), spec.Image.Path) {
		t.Errorf("the error does not name the path: %v", err)
	}
	if res := leftovers(t, ctx, host, label); len(res) > 0 {
		t.Errorf("a failed Provision left %v", res)
	}
}

func testSweep(t *testing.T, ctx context.Context, host drivers.Host, h Harness, cfg Config) {
	label := NewRunLabel()
	cleanupLabel(t, host, label)
	c, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var unlabelled []string
	var exists func(context.Context) (bool, error)
	if cfg.MakeUnlabelled != nil {
		names, ex, cleanup, err := cfg.MakeUnlabelled(c)
		if err != nil {
			t.Fatalf("making unlabelled resources: %v", err)
		}
		defer cleanup()
		unlabelled, exists = names, ex
	} else {
		t.Log("harness cannot make unlabelled resources: that part is not checked")
	}

	// A guest "leaked" by a run that died: provisioned, never destroyed.
	g, err := host.Provision(c, h.Spec("dt-leak", label))
	if err != nil {
		t.Fatal(err)
	}
	found := leftovers(t, ctx, host, label)
	if !hasKind(found, "domain", "vm") {
		t.Errorf("sweep dry run does not list the leaked guest: %v", found)
	}
	for _, r := range found {
		if r.RunLabel != label {
			t.Errorf("sweep listed %+v for label %s", r, label)
		}
	}
	young, err := host.Sweep(c, drivers.SweepSelector{RunLabel: label, OlderThan: 24 * time.Hour, DryRun: true})
	if err != nil || len(young) > 0 {
		t.Errorf("sweep of resources older than 24h found %v, %v; the guest is seconds old", young, err)
	}
	// Any label, dry run: ours listed, the unlabelled ones never.
	all, err := host.Sweep(c, drivers.SweepSelector{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if slices.Contains(unlabelled, r.Name) {
			t.Errorf("sweep would remove the unlabelled %s %s", r.Kind, r.Name)
		}
	}
	if !hasName(all, g.Name()) {
		t.Errorf("sweep of any label misses %s", g.Name())
	}
	time.Sleep(20 * time.Millisecond)
	removed, err := host.Sweep(c, drivers.SweepSelector{RunLabel: label, OlderThan: time.Millisecond})
	if err != nil {
		t.Fatalf("sweep by label and age: %v", err)
	}
	if len(removed) != len(found) {
		t.Errorf("sweep removed %v, the dry run listed %v", removed, found)
	}
	if res := leftovers(t, ctx, host, label); len(res) > 0 {
		t.Errorf("left after sweep: %v", res)
	}
	if st, err := g.State(c); err != nil || st != drivers.StateNotFound {
		t.Errorf("swept guest state %s, %v; want notfound", st, err)
	}
	if err := g.Destroy(c, 0); err != nil {
		t.Errorf("Destroy after Sweep: %v (must be idempotent)", err)
	}
	if exists != nil {
		ok, err := exists(c)
		if err != nil || !ok {
			t.Errorf("unlabelled resources %v gone after sweep (%v)", unlabelled, err)
		}
	}
}

func hasKind(rs []drivers.Resource, kinds ...string) bool {
	for _, r := range rs {
		if slices.Contains(kinds, r.Kind) {
			return true
		}
	}
	return false
}

func hasName(rs []drivers.Resource, name string) bool {
	for _, r := range rs {
		if r.Name == name {
			return true
		}
	}
	return false
}

var macRE = regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2}){5}$`)

func testLifecycle(t *testing.T, ctx context.Context, host drivers.Host, h Harness, cfg Config) {
	label := NewRunLabel()
	cleanupLabel(t, host, label)
	c, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	start := time.Now()
	spec := h.Spec("dt-life", label)
	g, err := host.Provision(c, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Provision returned after %s", time.Since(start))
	defer g.Destroy(context.WithoutCancel(ctx), 0)
	if g.Name() == "" {
		t.Error("empty guest name")
	}
	mustState(t, c, g, drivers.StateRunning)

	// Address honours its context even while the guest still boots.
	short, cancelShort := context.WithTimeout(c, 100*time.Millisecond)
	t0 := time.Now()
	_, err = g.Address(short)
	cancelShort()
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("Address with a 100ms deadline returned after %s", d)
	}
	if err == nil {
		t.Log("the guest had an address within 100ms")
	}

	actx, cancelA := context.WithTimeout(c, cfg.BootTimeout)
	addr, err := g.Address(actx)
	cancelA()
	if err != nil {
		t.Fatalf("Address within %s: %v", cfg.BootTimeout, err)
	}
	t.Logf("address %s after %s", addr, time.Since(start))
	if net.ParseIP(addr) == nil {
		t.Errorf("address %q is not an IP", addr)
	}
	waitConsole(t, c, g)

	if m, ok := g.(drivers.MACs); ok {
		macs, err := m.MACs(c)
		if err != nil || len(macs) == 0 {
			t.Errorf("MACs: %v, %v", macs, err)
		}
		for _, mac := range macs {
			if !macRE.MatchString(mac) {
				t.Errorf("MAC %q is not lower-case colon hex", mac)
			}
		}
	}
	t.Run("DeclaredCapabilities", func(t *testing.T) { testDeclared(t, c, host, g) })
	if rc, ok := g.(drivers.RunningConfig); ok {
		t.Run("RunningConfig", func(t *testing.T) { testRunningConfig(t, c, rc, spec) })
	}
	testCaps(t, c, g, cfg)
	testPower(t, c, g, cfg)

	if err := g.Destroy(c, 5*time.Second); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	mustState(t, c, g, drivers.StateNotFound)
	if err := g.Destroy(c, 5*time.Second); err != nil {
		t.Errorf("second Destroy: %v (must be idempotent)", err)
	}
	if res := leftovers(t, ctx, host, label); len(res) > 0 {
		t.Errorf("left after Destroy: %v", res)
	}
}

func mustState(t *testing.T, ctx context.Context, g drivers.Guest, want ...drivers.PowerState) {
	t.Helper()
	// Some transitions (save, shutdown) settle within a moment.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := g.State(ctx)
		if err == nil && slices.Contains(want, st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("state %s (%v), want %v", st, err, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func waitConsole(t *testing.T, ctx context.Context, g drivers.Guest) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := g.Console(ctx)
		if errors.Is(err, drivers.ErrUnsupported) {
			t.Log("console unsupported by this driver")
			return
		}
		if err == nil && len(out) > 0 {
			t.Logf("console: %d bytes", len(out))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("console still empty after boot: %v", err)
		}
		time.Sleep(time.Second)
	}
}

// testDeclared holds a live guest to its driver's registration
// (drivers.Register), so a dropped capability fails here rather than
// turning the checks that need it into SKIPs. testCaps then exercises
// each one.
func testDeclared(t *testing.T, ctx context.Context, host drivers.Host, g drivers.Guest) {
	info, err := host.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	Declared(t, info.Driver, g)
}

// Declared checks that guest g has every capability its driver declares
// (drivers.Register) and no other. A driver's unit tests call it with a
// nil guest of the driver's type, so a dropped or undeclared capability
// is caught without a host; the conformance suite calls it on a live
// guest.
func Declared(t testing.TB, driver string, g drivers.Guest) {
	t.Helper()
	d, ok := drivers.Lookup(driver)
	if !ok {
		t.Fatalf("driver %q is not registered (drivers.Register)", driver)
	}
	has := drivers.CapabilitiesOf(g)
	for _, c := range d.Capabilities {
		if !slices.Contains(has, c) {
			t.Errorf("the %s driver declares capability %s but its guest lacks it", d.Name, c)
		}
	}
	for _, c := range has {
		if !slices.Contains(d.Capabilities, c) {
			t.Errorf("the %s driver's guest has capability %s but the driver does not declare it", d.Name, c)
		}
	}
	if want := slices.Sorted(slices.Values(d.Capabilities)); !slices.Equal(has, want) {
		t.Errorf("guest capabilities %v, declared %v", has, want)
	}
}

// testCaps exercises each optional capability the guest has.
func testCaps(t *testing.T, ctx context.Context, g drivers.Guest, cfg Config) {
	if l, ok := g.(drivers.LinkControl); ok {
		t.Run("LinkControl", func(t *testing.T) { testLinkControl(t, ctx, l) })
	}
	if p, ok := g.(drivers.PauseResume); ok {
		t.Run("PauseResume", func(t *testing.T) { testPauseResume(t, ctx, g, p) })
	}
	if s, ok := g.(drivers.SaveRestore); ok {
		t.Run("SaveRestore", func(t *testing.T) { testSaveRestore(t, ctx, g, s) })
	}
	if d, ok := g.(drivers.DiskHotplug); ok {
		t.Run("DiskHotplug", func(t *testing.T) { testDiskHotplug(t, ctx, d, cfg) })
	}
	if n, ok := g.(drivers.NICHotplug); ok {
		t.Run("NICHotplug", func(t *testing.T) { testNICHotplug(t, ctx, g, n, cfg) })
	}
	if c, ok := g.(drivers.GuestClock); ok {
		t.Run("GuestClock", func(t *testing.T) { testGuestClock(t, ctx, c, cfg) })
	}
	if c, ok := g.(drivers.GuestTimeSync); ok {
		t.Run("GuestTimeSync", func(t *testing.T) { testGuestTimeSync(t, ctx, c, cfg) })
	}
}

func testLinkControl(t *testing.T, ctx context.Context, l drivers.LinkControl) {
	if err := l.SetLink(ctx, 0, false); err != nil {
		t.Fatal(err)
	}
	if err := l.SetLink(ctx, 0, true); err != nil {
		t.Fatal(err)
	}
	if err := l.SetLink(ctx, 99, false); err == nil || drivers.ClassOf(err) != drivers.ClassInput {
		t.Errorf("SetLink on NIC 99: %v, want an input error", err)
	}
}

func testPauseResume(t *testing.T, ctx context.Context, g drivers.Guest, p drivers.PauseResume) {
	if err := p.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	mustState(t, ctx, g, drivers.StatePaused)
	if err := p.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	mustState(t, ctx, g, drivers.StateRunning)
}

func testSaveRestore(t *testing.T, ctx context.Context, g drivers.Guest, s drivers.SaveRestore) {
	if err := s.Save(ctx); err != nil {
		t.Fatal(err)
	}
	mustState(t, ctx, g, drivers.StateSaved)
	if err := s.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	mustState(t, ctx, g, drivers.StateRunning)
}

func testDiskHotplug(t *testing.T, ctx context.Context, d drivers.DiskHotplug, cfg Config) {
	ref, err := d.AttachDisk(ctx, 16)
	if err != nil {
		t.Fatal(err)
	}
	if ref.ID == "" || ref.SizeMB != 16 {
		t.Errorf("disk ref %+v", ref)
	}
	if !cfg.Unplug {
		t.Log("guest does not release devices on request: detach not checked (Destroy removes the disk)")
		return
	}
	dc, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := d.DetachDisk(dc, ref); err != nil {
		t.Fatal(err)
	}
}

func testNICHotplug(t *testing.T, ctx context.Context, g drivers.Guest, n drivers.NICHotplug, cfg Config) {
	ref, err := n.AttachNIC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := g.(drivers.MACs); ok {
		macs, _ := m.MACs(ctx)
		if !slices.Contains(macs, strings.ToLower(ref.MAC)) {
			t.Errorf("attached NIC %s missing from MACs %v", ref.MAC, macs)
		}
	}
	if !cfg.Unplug {
		t.Log("guest does not release devices on request: detach not checked")
		return
	}
	dc, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := n.DetachNIC(dc, ref); err != nil {
		t.Fatal(err)
	}
}

func testGuestClock(t *testing.T, ctx context.Context, c drivers.GuestClock, cfg Config) {
	cc, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	start := time.Now()
	gt, err := c.GuestTime(cc)
	if !cfg.Agent {
		if err == nil {
			t.Fatalf("GuestTime without an agent returned %s", gt)
		}
		if d := time.Since(start); d > 20*time.Second+2*time.Second {
			t.Errorf("GuestTime without an agent took %s", d)
		}
		t.Logf("no agent, as expected: %v", err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(gt); d > time.Minute || d < -time.Minute {
		t.Errorf("guest time %s is %s from ours", gt, d)
	}
}

func testGuestTimeSync(t *testing.T, ctx context.Context, c drivers.GuestTimeSync, cfg Config) {
	cc, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err := c.SetGuestTime(cc, time.Now())
	if !cfg.Agent {
		// Contract: no agent answering is the guest's doing.
		if err == nil || drivers.ClassOf(err) != drivers.ClassGuest {
			t.Fatalf("SetGuestTime without an agent: %v (class %v), want a ClassGuest error", err, drivers.ClassOf(err))
		}
		t.Logf("no agent, as expected: %v", err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
}

func testPower(t *testing.T, ctx context.Context, g drivers.Guest, cfg Config) {
	for _, step := range []struct {
		op   drivers.PowerOp
		want drivers.PowerState
	}{
		{drivers.PowerReset, drivers.StateRunning},
		{drivers.PowerOff, drivers.StateOff},
		{drivers.PowerOff, drivers.StateOff}, // already off: no error
		{drivers.PowerStart, drivers.StateRunning},
		{drivers.PowerStart, drivers.StateRunning}, // already running
		{drivers.PowerReboot, drivers.StateRunning},
	} {
		if err := g.Power(ctx, step.op); err != nil {
			t.Fatalf("power %s: %v", step.op, err)
		}
		mustState(t, ctx, g, step.want)
	}
	if err := g.Power(ctx, "sideways"); err == nil || drivers.ClassOf(err) != drivers.ClassInput {
		t.Errorf("unknown power op: %v, want an input error", err)
	}
	sc, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if !cfg.ACPI {
		// The guest ignores the power button: Shutdown must still return
		// when its context ends, with a guest error.
		short, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		start := time.Now()
		err := g.Power(short, drivers.PowerShutdown)
		if err == nil {
			t.Log("the guest stopped on the ACPI power button after all")
			return
		}
		if d := time.Since(start); d > 8*time.Second {
			t.Errorf("PowerShutdown with a 3s deadline returned after %s", d)
		}
		return
	}
	if err := g.Power(sc, drivers.PowerShutdown); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
	mustState(t, ctx, g, drivers.StateOff)
}

func testExisting(t *testing.T, ctx context.Context, host drivers.Host, h Harness) {
	label := NewRunLabel()
	c, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	g, err := host.Provision(c, h.Spec("dt-existing", label))
	if err != nil {
		t.Fatal(err)
	}
	addr, err := g.Address(c)
	if err != nil || addr == "" {
		t.Fatalf("Address: %q, %v", addr, err)
	}
	if _, err := g.Console(c); !errors.Is(err, drivers.ErrUnsupported) {
		t.Errorf("Console: %v, want ErrUnsupported", err)
	}
	// Nothing was configured: a report of memory or vCPUs could only be
	// the plan's defaults echoed back.
	if rc, ok := g.(drivers.RunningConfig); ok {
		if got, err := rc.RunningConfig(c); err == nil && (got.MemoryMB != 0 || got.CPUs != 0) {
			t.Errorf("RunningConfig on an existing machine: %+v; want ErrUnsupported or zero values", got)
		}
	}
	if err := g.Power(c, drivers.PowerReset); !errors.Is(err, drivers.ErrUnsupported) {
		t.Errorf("Power: %v, want ErrUnsupported (nothing is done to an existing machine)", err)
	}
	for range 2 {
		if err := g.Destroy(c, time.Second); err != nil {
			t.Errorf("Destroy: %v", err)
		}
	}
	if res, err := host.Sweep(c, drivers.SweepSelector{}); err != nil || len(res) > 0 {
		t.Errorf("Sweep on an existing machine: %v, %v; want nothing", res, err)
	}
	// Still reachable: Destroy did nothing to it.
	if again, err := g.Address(c); err != nil || again != addr {
		t.Errorf("Address after Destroy: %q, %v", again, err)
	}
	cc, cancel2 := context.WithCancel(ctx)
	cancel2()
	if _, err := host.Provision(cc, h.Spec("dt-existing2", label)); err == nil {
		t.Error("Provision with a cancelled context succeeded")
	}
}

// testRunningConfig: the host reports what the guest runs with, which for
// a guest the driver provisioned is what the spec asked; the call honours
// its context.
func testRunningConfig(t *testing.T, ctx context.Context, rc drivers.RunningConfig, spec drivers.GuestSpec) {
	got, err := rc.RunningConfig(ctx)
	if err != nil {
		t.Fatalf("RunningConfig: %v", err)
	}
	t.Logf("running config: %+v", got)
	if got.MemoryMB != spec.MemoryMB || got.CPUs != spec.CPUs {
		t.Errorf("RunningConfig memory %d MiB, %d vCPUs; the spec asked %d MiB, %d vCPUs", got.MemoryMB, got.CPUs, spec.MemoryMB, spec.CPUs)
	}
	if got.NICModels != nil {
		want := spec.NICModel
		if want == "" {
			want = "virtio"
		}
		if len(got.NICModels) == 0 || got.NICModels[0] != want {
			t.Errorf("NICModels %v; the spec asked %q", got.NICModels, want)
		}
	}
	cc, cancel := context.WithCancel(ctx)
	cancel()
	t0 := time.Now()
	if _, err := rc.RunningConfig(cc); err == nil {
		t.Error("RunningConfig with a cancelled context succeeded")
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("RunningConfig with a cancelled context returned after %s", d)
	}
}
