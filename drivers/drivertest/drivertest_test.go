package drivertest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/drivers/drivertest"
)

// fakeHost is an in-memory driver used to test the suite itself: with
// broken set, it violates one contract, and the suite must notice.
type fakeHost struct {
	broken     string // "", "destroy", "leak", "sweepall", "config"
	mu         sync.Mutex
	guests     map[string]*fakeGuest
	unlabelled map[string]bool
}

type fakeGuest struct {
	h       *fakeHost
	name    string
	label   string
	created time.Time
	state   drivers.PowerState
	gone    bool
	mem     int
	cpus    int
}

// The fake registers itself like any driver, from this test file alone:
// the suite finds its declared capabilities through the registry.
func init() {
	drivers.Register(drivers.Driver{Name: "fake",
		Open: func(context.Context, string, drivers.OpenOptions) (drivers.Host, error) {
			return nil, errors.New("use the harness")
		},
		CheckURI:         func(string) (bool, error) { return false, nil },
		DefaultProfile:   func(drivers.HostInfo, map[string]string) string { return "kvm-tcg" },
		Capabilities:     []string{drivers.CapPauseResume, drivers.CapRunningConfig},
		HostCapabilities: []string{drivers.CapHostResources}})
}

// Resources is the fake's declared host capability; broken "resources"
// reports more free memory than the host has, "resctx" ignores its
// context.
func (h *fakeHost) Resources(ctx context.Context) (drivers.Resources, error) {
	if err := ctx.Err(); err != nil && h.broken != "resctx" {
		return drivers.Resources{}, drivers.Errorf(drivers.ClassHost, "resources", "%w", err)
	}
	r := drivers.Resources{TotalMemoryMB: 4096, FreeMemoryMB: 3000, CPUs: 2}
	if h.broken == "resources" {
		r.FreeMemoryMB = 5000
	}
	return r, nil
}

func (h *fakeHost) Info(ctx context.Context) (drivers.HostInfo, error) {
	return drivers.HostInfo{Driver: "fake", Hypervisor: "qemu", Name: "fake", Nature: drivers.NatureSimulated, Notes: []string{"in-memory test double"}}, nil
}

// pausable is the fake's guest with its declared capability.
type pausable struct{ *fakeGuest }

func (g pausable) Pause(ctx context.Context) error { return g.set(drivers.StatePaused) }
func (g pausable) Resume(ctx context.Context) error {
	if g.h.broken == "resume" {
		return drivers.Errorf(drivers.ClassHost, "resume", "domain stuck paused") // declared, but broken
	}
	return g.set(drivers.StateRunning)
}

func (g *fakeGuest) set(st drivers.PowerState) error {
	g.h.mu.Lock()
	defer g.h.mu.Unlock()
	g.state = st
	return nil
}

func (h *fakeHost) Provision(ctx context.Context, spec drivers.GuestSpec) (drivers.Guest, error) {
	if err := ctx.Err(); err != nil {
		return nil, drivers.Errorf(drivers.ClassHost, "provision", "%w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	g := &fakeGuest{h: h, name: spec.Name, label: spec.RunLabel, created: time.Now(), state: drivers.StateRunning, mem: spec.MemoryMB, cpus: spec.CPUs}
	if strings.HasPrefix(spec.Image.Path, "/nonexistent") {
		if h.broken == "leak" {
			h.guests[g.name] = g // no rollback
		}
		return nil, drivers.Errorf(drivers.ClassInput, "provision", "image %s: no such file", spec.Image.Path)
	}
	h.guests[g.name] = g
	if h.broken == "dropcap" {
		return g, nil // lost PauseResume, which the registration declares
	}
	return pausable{g}, nil
}

func (h *fakeHost) Sweep(ctx context.Context, sel drivers.SweepSelector) ([]drivers.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var res []drivers.Resource
	for name, g := range h.guests {
		if (sel.RunLabel != "" && g.label != sel.RunLabel) || (sel.OlderThan > 0 && time.Since(g.created) <= sel.OlderThan) {
			continue
		}
		res = append(res, drivers.Resource{Kind: "domain", Name: name, RunLabel: g.label, Created: g.created})
		if !sel.DryRun {
			g.gone = true
			delete(h.guests, name)
		}
	}
	if h.broken == "sweepall" {
		for name := range h.unlabelled {
			res = append(res, drivers.Resource{Kind: "domain", Name: name})
			if !sel.DryRun {
				delete(h.unlabelled, name)
			}
		}
	}
	return res, nil
}

func (h *fakeHost) Close() error { return nil }

func (g *fakeGuest) Name() string { return g.name }
func (g *fakeGuest) Address(ctx context.Context) (string, error) {
	return "192.0.2.10", nil
}
func (g *fakeGuest) Power(ctx context.Context, op drivers.PowerOp) error {
	g.h.mu.Lock()
	defer g.h.mu.Unlock()
	switch op {
	case drivers.PowerStart, drivers.PowerReboot, drivers.PowerReset:
		g.state = drivers.StateRunning
	case drivers.PowerOff, drivers.PowerShutdown:
		g.state = drivers.StateOff
	default:
		return drivers.Errorf(drivers.ClassInput, "power", "unknown op %q", op)
	}
	return nil
}
func (g *fakeGuest) State(ctx context.Context) (drivers.PowerState, error) {
	g.h.mu.Lock()
	defer g.h.mu.Unlock()
	if g.gone {
		return drivers.StateNotFound, nil
	}
	return g.state, nil
}
func (g *fakeGuest) Console(ctx context.Context) ([]byte, error) { return []byte("booted\n"), nil }
func (g *fakeGuest) Destroy(ctx context.Context, grace time.Duration) error {
	g.h.mu.Lock()
	defer g.h.mu.Unlock()
	if g.gone && g.h.broken == "destroy" {
		return errors.New("no such domain")
	}
	g.gone = true
	delete(g.h.guests, g.name)
	return nil
}

// RunningConfig reports what the guest was provisioned with; broken
// "config" reports a plan default instead.
func (g *fakeGuest) RunningConfig(ctx context.Context) (drivers.GuestConfig, error) {
	if err := ctx.Err(); err != nil {
		return drivers.GuestConfig{}, drivers.Errorf(drivers.ClassHost, "running config", "%w", err)
	}
	if g.h.broken == "config" {
		return drivers.GuestConfig{MemoryMB: 1024, CPUs: 1}, nil
	}
	return drivers.GuestConfig{MemoryMB: g.mem, CPUs: g.cpus}, nil
}

type fakeHarness struct{ h *fakeHost }

func (f fakeHarness) Open(ctx context.Context) (drivers.Host, error) { return f.h, nil }
func (f fakeHarness) Spec(name, label string) drivers.GuestSpec {
	return drivers.GuestSpec{Name: name, RunLabel: label, MemoryMB: 64, CPUs: 2, Image: drivers.Image{Path: "/images/fake.qcow2", Format: "qcow2"}}
}
func (f fakeHarness) Config() drivertest.Config {
	return drivertest.Config{
		Provisions: true, BootTimeout: 5 * time.Second, ACPI: true,
		MakeUnlabelled: func(ctx context.Context) ([]string, func(context.Context) (bool, error), func(), error) {
			f.h.mu.Lock()
			f.h.unlabelled["someone-elses-vm"] = true
			f.h.mu.Unlock()
			exists := func(context.Context) (bool, error) {
				f.h.mu.Lock()
				defer f.h.mu.Unlock()
				return f.h.unlabelled["someone-elses-vm"], nil
			}
			return []string{"someone-elses-vm"}, exists, func() {}, nil
		},
	}
}

func newFake(broken string) fakeHarness {
	return fakeHarness{h: &fakeHost{broken: broken, guests: map[string]*fakeGuest{}, unlabelled: map[string]bool{}}}
}

// TestFakeConforms runs the suite on the fake; with DRIVERTEST_FAKE_BROKEN
// set (by TestSuiteCatchesBrokenDrivers) the fake breaks a contract.
func TestFakeConforms(t *testing.T) {
	drivertest.Run(t, newFake(os.Getenv("DRIVERTEST_FAKE_BROKEN")))
}

// TestSuiteCatchesBrokenDrivers proves the suite fails drivers that break
// the contracts, by running it in a child process on a broken fake.
func TestSuiteCatchesBrokenDrivers(t *testing.T) {
	if os.Getenv("DRIVERTEST_FAKE_BROKEN") != "" {
		t.Skip("child process")
	}
	for broken, want := range map[string]string{
		"destroy":   "must be idempotent",
		"leak":      "a failed Provision left",
		"sweepall":  "sweep would remove the unlabelled",
		"dropcap":   "declares capability PauseResume but its guest lacks it",
		"resume":    "domain stuck paused",
		"config":    "RunningConfig memory 1024 MiB, 1 vCPUs; the spec asked 64 MiB, 2 vCPUs",
		"resources": "free memory 5000 MiB of 4096 MiB",
		"resctx":    "Resources with a cancelled context succeeded",
	} {
		t.Run(broken, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestFakeConforms$", "-test.v")
			cmd.Env = append(os.Environ(), "DRIVERTEST_FAKE_BROKEN="+broken)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a driver with broken %s:\n%s", broken, out)
			}
			if !strings.Contains(string(out), want) {
				t.Fatalf("the suite failed, but not with %q:\n%s", want, out)
			}
		})
	}
}
