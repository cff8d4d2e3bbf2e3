package libvirt

import (
	"slices"
	"testing"

	"github.com/virtcert/virtcert/drivers"
)

// TestDeclaredCapabilities: the guest type has exactly the capabilities
// the registration declares (a dropped or undeclared one is caught
// without a host; drivertest checks a live guest too).
func TestDeclaredCapabilities(t *testing.T) {
	d, ok := drivers.Lookup("libvirt")
	if !ok {
		t.Fatal("not registered")
	}
	got := drivers.CapabilitiesOf((*Guest)(nil))
	want := slices.Sorted(slices.Values(d.Capabilities))
	if !slices.Equal(got, want) {
		t.Errorf("guest capabilities %v, declared %v", got, want)
	}
}
