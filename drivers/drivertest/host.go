package drivertest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
)

// testHostCaps holds the host to its driver's HostCapabilities and
// exercises each.
func testHostCaps(t *testing.T, ctx context.Context, host drivers.Host) {
	info, err := host.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	DeclaredHost(t, info.Driver, host)
	if hr, ok := host.(drivers.HostResources); ok {
		t.Run("HostResources", func(t *testing.T) { Resources(t, ctx, hr) })
	}
}

// DeclaredHost checks that host h has every host capability its driver
// declares (Driver.HostCapabilities) and no other. Like Declared, a
// driver's unit tests can call it with a nil host of the driver's type.
func DeclaredHost(t testing.TB, driver string, h drivers.Host) {
	t.Helper()
	d, ok := drivers.Lookup(driver)
	if !ok {
		t.Fatalf("driver %q is not registered (drivers.Register)", driver)
	}
	has := drivers.CapabilitiesOf(h)
	if want := slices.Sorted(slices.Values(d.HostCapabilities)); !slices.Equal(has, want) {
		t.Errorf("the %s driver's host has capabilities %v, declared %v (drivers.Driver.HostCapabilities)", d.Name, has, want)
	}
}

// Resources checks the HostResources contract: a plausible report read
// from the host, and a cancelled context honoured.
func Resources(t *testing.T, ctx context.Context, hr drivers.HostResources) drivers.Resources {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got, err := hr.Resources(c)
	if err != nil {
		t.Fatalf("Resources: %v", err)
	}
	t.Logf("host resources: %+v", got)
	if got.TotalMemoryMB <= 0 || got.CPUs <= 0 {
		t.Errorf("Resources: total memory %d MiB, %d CPUs; both must be > 0", got.TotalMemoryMB, got.CPUs)
	}
	if got.FreeMemoryMB <= 0 || got.FreeMemoryMB > got.TotalMemoryMB {
		t.Errorf("Resources: free memory %d MiB of %d MiB; want 0 < free <= total", got.FreeMemoryMB, got.TotalMemoryMB)
	}
	cc, cancel2 := context.WithCancel(ctx)
	cancel2()
	t0 := time.Now()
	if _, err := hr.Resources(cc); err == nil {
		t.Error("Resources with a cancelled context succeeded")
	} else if drivers.ClassOf(err) != drivers.ClassHost {
		t.Errorf("Resources with a cancelled context: %v (class %v), want a host error", err, drivers.ClassOf(err))
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("Resources with a cancelled context returned after %s", d)
	}
	return got
}
