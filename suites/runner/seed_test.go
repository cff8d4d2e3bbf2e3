package runner

import (
	"bytes"
	"testing"

	"github.com/virtcert/virtcert/guests"
	"github.com/virtcert/virtcert/plan"
)

// TestSeedHyperVDaemons: a guest on a Hyper-V host gets a seed that
// enables the image's Hyper-V daemons; a guest on libvirt does not.
func TestSeedHyperVDaemons(t *testing.T) {
	ck, err := guests.NewClientKey("t")
	if err != nil {
		t.Fatal(err)
	}
	hk, err := guests.NewHostKey("g")
	if err != nil {
		t.Fatal(err)
	}
	for driver, want := range map[string]bool{"hyperv": true, "libvirt": false} {
		iso, err := buildSeed("g", "debian", ck, hk, &plan.Host{Driver: driver}, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(iso, []byte("hv-kvp-daemon")); got != want {
			t.Errorf("%s: seed enables Hyper-V daemons = %v, want %v", driver, got, want)
		}
	}
}
