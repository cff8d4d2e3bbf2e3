package network

import (
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites/suitetest"
)

// TestMTUOnAnExistingMachine: a host driver that cannot report its guest
// (the existing driver: a network virtcert did not set up) gives the
// profile's mtu no authority, so a guest at MTU 1400 is not FAILed for it
// (issue 15); the maximum MTU is still judged, so an emulated NIC's 16110
// still FAILs.
func TestMTUOnAnExistingMachine(t *testing.T) {
	root, err := suitetest.Root()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		overlay  string
		want     reports.Status
		evidence string
	}{
		{"network/faulty-mtu.txt", reports.Pass, "not judged: host driver lacks capability: RunningConfig"},
		{"network/faulty-emulated-nic.txt", reports.Fail, "16110"},
	} {
		x, err := suitetest.Platform(root, "kvm", c.overlay)
		if err != nil {
			t.Fatal(err)
		}
		tg, err := suitetest.Target("kvm", x, &suitetest.Guest{GuestName: "existing"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := suitetest.Execute("network.mtu", tg)
		if err != nil {
			t.Fatal(err)
		}
		if d := suitetest.Describe(r); r.Status != c.want || !strings.Contains(d, c.evidence) {
			t.Errorf("%s: want %s with %q, got\n%s", c.overlay, c.want, c.evidence, d)
		}
	}
}
