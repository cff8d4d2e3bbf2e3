package libvirt

import (
	"testing"

	"github.com/virtcert/virtcert/drivers/drivertest"
)

// TestDeclaredCapabilities: the guest type has exactly the capabilities
// the registration declares (a dropped or undeclared one is caught
// without a host; drivertest checks a live guest too).
func TestDeclaredCapabilities(t *testing.T) {
	drivertest.Declared(t, "libvirt", (*Guest)(nil))
	drivertest.DeclaredHost(t, "libvirt", (*Host)(nil))
}
