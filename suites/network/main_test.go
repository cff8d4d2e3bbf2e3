package network_test

import (
	"os"
	"testing"

	"github.com/virtcert/virtcert/internal/labslot"
)

// TestMain lets the lab's guest slots (internal/labslot), not go test's
// -parallel, bound the lab tests run at once: with 2 places, TestE2EDebian
// (two slots) and TestE2EHealthy (waiting for two more) held both and
// TestE2EFaults, which fits the free slot, waited for them.
func TestMain(m *testing.M) {
	labslot.Parallel(labslot.Slots())
	os.Exit(m.Run())
}
