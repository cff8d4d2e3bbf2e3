package suitetest_test

import (
	"strings"
	"testing"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites/suitetest"
)

// TestExpectationsFromTheHost: drivers.balloon compares MemTotal with the
// memory the host reports it runs the guest with, never with the plan's
// memory_mb (issue 15). The captured tiny guest (256 MiB) under a plan
// whose default says 1024 MiB:
//   - through a driver with no RunningConfig (the existing driver) the
//     memory step is not judged, with the reason, and the binding still
//     is: PASS (the old code FAILed it against 1024 MiB);
//   - a host that reports 256 MiB: PASS; one that reports 1024 MiB (the
//     guest sees a quarter of its memory): FAIL.
//
// drivers.paravirtual likewise takes the NIC models from the host.
func TestExpectationsFromTheHost(t *testing.T) {
	for _, c := range []struct {
		name, check string
		host        *drivers.GuestConfig // nil: the driver has no RunningConfig
		want        reports.Status
		evidence    string
	}{
		{"existing", "drivers.balloon", nil, reports.Pass, "not judged: host driver lacks capability: RunningConfig"},
		{"host 256 MiB", "drivers.balloon", &drivers.GuestConfig{MemoryMB: 256, CPUs: 1}, reports.Pass, "of 256 MiB (host report)"},
		{"host 1024 MiB", "drivers.balloon", &drivers.GuestConfig{MemoryMB: 1024, CPUs: 1}, reports.Fail, "of 1024 MiB (host report)"},
		{"existing", "drivers.paravirtual", nil, reports.Pass, "not judged: host driver lacks capability"},
		{"host virtio", "drivers.paravirtual", &drivers.GuestConfig{NICModels: []string{"virtio"}}, reports.Pass, "device virtio"},
		{"host e1000", "drivers.paravirtual", &drivers.GuestConfig{NICModels: []string{"virtio", "e1000"}}, reports.Fail, "emulated NIC model e1000"},
	} {
		t.Run(c.check+"/"+c.name, func(t *testing.T) {
			t.Parallel()
			root, err := suitetest.Root()
			if err != nil {
				t.Fatal(err)
			}
			x, err := suitetest.Platform(root, "kvm-tcg")
			if err != nil {
				t.Fatal(err)
			}
			var g drivers.Guest = &suitetest.Guest{GuestName: "t"}
			if c.host != nil {
				g = &suitetest.CapGuest{Guest: &suitetest.Guest{GuestName: "t"}, Running: c.host}
			}
			tg, err := suitetest.Target("kvm-tcg", x, g)
			if err != nil {
				t.Fatal(err)
			}
			tg.Spec.MemoryMB = 1024 // the plan's default: never an expectation
			r, err := suitetest.Execute(c.check, tg)
			if err != nil {
				t.Fatal(err)
			}
			d := suitetest.Describe(r)
			if r.Status != c.want || !strings.Contains(d, c.evidence) {
				t.Fatalf("want %s with evidence %q, got\n%s", c.want, c.evidence, d)
			}
		})
	}
}
