package network_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
)

// TestE2EToolAgreement boots the Debian fixture guest (one guest) and runs
// the three checks that measure with vcprobe beside fio or iperf3
// (interleaved rounds, medians: see the methodology comments in
// suites/disk/checks.go and throughput.go). It logs each round, the
// medians and the gaps with the host load average, which is the evidence
// for "vcprobe and fio/iperf3 agree within 10% on the Debian guest". The
// gap is logged, not asserted: on a loaded emulated lab it is a
// measurement, and tool disagreement is no guest fault. Run:
//
//	fixtures/lab/lab exec -- env VIRTCERT_E2E=1 go test -v -run E2EToolAgreement -timeout 30m ./suites/network/
func TestE2EToolAgreement(t *testing.T) {
	e := setupE2E(t)
	img := filepath.Join(filepath.Dir(e.img.Dir), "debian", "disk.qcow2")
	if _, err := os.Stat(img); err != nil {
		t.Skipf("Debian guest not built (make debian): %v", err)
	}
	tg := e.bootImage("nd-agree", "debian", drivers.Image{Path: img, Format: "qcow2", OS: "linux", Firmware: "bios"}, 1024, 2,
		"test -e /run/cloud-init/result.json")
	load := func() string {
		b, _ := os.ReadFile("/proc/loadavg")
		return strings.TrimSpace(string(b))
	}
	var table strings.Builder
	for _, id := range []string{"disk.throughput", "disk.iops", "network.throughput.controller"} {
		before := load()
		r := run(t, tg, id)
		want(t, r, reports.Pass)
		fmt.Fprintf(&table, "%s %s (host loadavg before: %s, after: %s)\n", id, r.Status, before, load())
		for _, ev := range r.Evidence {
			if strings.Contains(ev.Step, "rounds") {
				fmt.Fprintf(&table, "  %s:\n    %s\n", ev.Step, strings.ReplaceAll(strings.TrimSpace(ev.Output), "\n", "\n    "))
			}
			if strings.Contains(ev.Step, "beside vcprobe") {
				fmt.Fprintf(&table, "  gap: %s\n", ev.Actual)
			}
		}
		for _, m := range r.Measures {
			fmt.Fprintf(&table, "  median %s = %.1f %s (%s)\n", m.Name, m.Value, m.Unit, m.Source)
		}
	}
	t.Logf("vcprobe beside fio/iperf3 on the Debian guest:\n%s", table.String())
}
