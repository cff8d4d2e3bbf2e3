package junit

import (
	"testing"

	"github.com/virtcert/virtcert/reports/reportstest"
)

// TestGoldenSimulatedGuest: a guest that declared itself simulated gets
// guest.nature and guest.identity properties; a failed identity query
// gets guest.identity_error (golden file).
func TestGoldenSimulatedGuest(t *testing.T) {
	checkGolden(t, "simulated-guest.xml", render(t, reportstest.SimulatedGuests(), Options{}))
}
