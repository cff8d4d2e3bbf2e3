package existing

import (
	"testing"

	"github.com/virtcert/virtcert/drivers/drivertest"
)

// TestDeclaredCapabilities: the guest type has exactly the capabilities
// the registration declares (a dropped or undeclared one is caught
// without a host; drivertest checks a live guest too).
func TestDeclaredCapabilities(t *testing.T) {
	drivertest.Declared(t, "existing", (*Guest)(nil))
	drivertest.DeclaredHost(t, "existing", (*Host)(nil))
}
