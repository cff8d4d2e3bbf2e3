package suitetest

import (
	"context"
	"sync"
	"time"

	"github.com/virtcert/virtcert/drivers"
)

// Guest is a fake drivers.Guest with a recorded console and a power state.
type Guest struct {
	mu         sync.Mutex
	GuestName  string
	ConsoleLog []byte
	ConsoleErr error
	PowerState drivers.PowerState
	// PowerErr, when set, is returned by Power for that operation.
	PowerErr map[drivers.PowerOp]error
	// IgnoreShutdown keeps the guest running on PowerShutdown (a guest
	// that ignores ACPI), and Power then waits for ctx like a real driver.
	IgnoreShutdown bool
	// Ops records power operations.
	Ops []string
}

// Name implements drivers.Guest.
func (g *Guest) Name() string { return g.GuestName }

// Address implements drivers.Guest.
func (g *Guest) Address(ctx context.Context) (string, error) { return "192.0.2.10", nil }

// Power implements drivers.Guest.
func (g *Guest) Power(ctx context.Context, op drivers.PowerOp) error {
	g.mu.Lock()
	g.Ops = append(g.Ops, string(op))
	err := g.PowerErr[op]
	ignore := g.IgnoreShutdown
	g.mu.Unlock()
	if err != nil {
		return err
	}
	switch op {
	case drivers.PowerShutdown:
		if ignore {
			<-ctx.Done()
			return drivers.Wrap(drivers.ClassGuest, "shutdown", ctx.Err())
		}
		g.set(drivers.StateOff)
	case drivers.PowerOff:
		g.set(drivers.StateOff)
	default:
		g.set(drivers.StateRunning)
	}
	return nil
}

func (g *Guest) set(s drivers.PowerState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.PowerState = s
}

// State implements drivers.Guest.
func (g *Guest) State(ctx context.Context) (drivers.PowerState, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.PowerState == "" {
		return drivers.StateRunning, nil
	}
	return g.PowerState, nil
}

// Console implements drivers.Guest.
func (g *Guest) Console(ctx context.Context) ([]byte, error) { return g.ConsoleLog, g.ConsoleErr }

// Destroy implements drivers.Guest.
func (g *Guest) Destroy(ctx context.Context, grace time.Duration) error { return nil }

// CapGuest is a Guest with the optional capabilities the clock and
// lifecycle checks use.
type CapGuest struct {
	*Guest
	// ClockSkew is added to the controller's time by GuestTime.
	ClockSkew time.Duration
	ClockErr  error
	// SetTimeErr is what SetGuestTime returns (nil: the agent set it).
	SetTimeErr error
	// Running is what RunningConfig reports (nil: ErrUnsupported, a host
	// that cannot say).
	Running *drivers.GuestConfig
}

// RunningConfig implements drivers.RunningConfig.
func (g *CapGuest) RunningConfig(ctx context.Context) (drivers.GuestConfig, error) {
	if g.Running == nil {
		return drivers.GuestConfig{}, drivers.Errorf(drivers.ClassHost, "running config", "%w", drivers.ErrUnsupported)
	}
	return *g.Running, nil
}

// HostReport is what a driver reports for a guest it provisioned with
// spec (NIC models only when the spec names one, as Hyper-V names none).
func HostReport(spec drivers.GuestSpec) *drivers.GuestConfig {
	c := &drivers.GuestConfig{MemoryMB: spec.MemoryMB, CPUs: spec.CPUs}
	if spec.NICModel != "" {
		c.NICModels = []string{spec.NICModel}
	}
	return c
}

// SetGuestTime implements drivers.GuestTimeSync. It only records the
// call: the guest's clock in a transcript is what the transcript says.
func (g *CapGuest) SetGuestTime(ctx context.Context, t time.Time) error {
	g.record("set-time")
	return g.SetTimeErr
}

// GuestTime implements drivers.GuestClock.
func (g *CapGuest) GuestTime(ctx context.Context) (time.Time, error) {
	if g.ClockErr != nil {
		return time.Time{}, g.ClockErr
	}
	return time.Now().Add(g.ClockSkew), nil
}

// Pause implements drivers.PauseResume.
func (g *CapGuest) Pause(ctx context.Context) error {
	g.record("pause")
	g.set(drivers.StatePaused)
	return nil
}

// Resume implements drivers.PauseResume.
func (g *CapGuest) Resume(ctx context.Context) error {
	g.record("resume")
	g.set(drivers.StateRunning)
	return nil
}

// Save implements drivers.SaveRestore.
func (g *CapGuest) Save(ctx context.Context) error {
	g.record("save")
	g.set(drivers.StateSaved)
	return nil
}

// Restore implements drivers.SaveRestore.
func (g *CapGuest) Restore(ctx context.Context) error {
	g.record("restore")
	g.set(drivers.StateRunning)
	return nil
}

func (g *CapGuest) record(op string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.Ops = append(g.Ops, op)
}

var (
	_ drivers.Guest         = (*Guest)(nil)
	_ drivers.GuestClock    = (*CapGuest)(nil)
	_ drivers.GuestTimeSync = (*CapGuest)(nil)
	_ drivers.PauseResume   = (*CapGuest)(nil)
	_ drivers.SaveRestore   = (*CapGuest)(nil)
)
