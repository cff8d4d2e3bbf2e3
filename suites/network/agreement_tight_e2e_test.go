package network_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/guests/probe"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/suites/disk"
	"github.com/virtcert/virtcert/suites/parse"
)

// TestE2EToolAgreementTight compares vcprobe and fio on the Debian guest
// with the disk checks' method (same file laid out first, same bs,
// O_DIRECT, psync iodepth 1, 1 s uncounted ramp, no closing fsync in the
// figure, sync after write runs) but alternates the two tools in one
// guest-side loop of 9 short rounds per mode, so that the load swings of
// a shared, overcommitted host land on both tools alike. Logged, not
// asserted (see TestE2EToolAgreement). Run:
//
//	fixtures/lab/lab exec -- env VIRTCERT_E2E=1 VIRTCERT_MEASURE=1 go test -v -run E2EToolAgreementTight -timeout 30m ./suites/network/
func TestE2EToolAgreementTight(t *testing.T) {
	tg := bootMeasureGuest(t, "nd-tight")
	ctx := context.Background()
	const f, rounds = "/var/tmp/vcprobe-ab.bin", 9
	sh := func(cmd string) string {
		r, err := tg.OS.Run(ctx, transport.Command{Cmd: cmd})
		if err != nil || r.Exit != 0 {
			t.Fatalf("%s: %v exit %d %s", cmd, err, r.Exit, r.Stderr)
		}
		return string(r.Stdout)
	}
	sh("sudo -n /tmp/vcprobe disk -path " + f + " -size 64M -mode seqread -bs 1M -direct -duration 10ms >/dev/null; sync") // lay out
	var table strings.Builder
	for _, m := range []struct{ mode, rw, bs string }{{"seqwrite", "write", "1M"}, {"seqread", "read", "1M"}, {"randwrite", "randwrite", "4K"}, {"randread", "randread", "4K"}} {
		vc := fmt.Sprintf("sudo -n /tmp/vcprobe disk -path %s -size 64M -mode %s -bs %s -direct -ramp 1s -duration 2s", f, m.mode, m.bs)
		fio := fmt.Sprintf("sudo -n fio --name=vc --filename=%s --size=64M --rw=%s --bs=%s --direct=1 --ioengine=psync --iodepth=1 --gtod_reduce=1 --norandommap "+
			"--ramp_time=1 --runtime=2 --time_based --output-format=json", f, m.rw, strings.ToLower(m.bs))
		s := ""
		if strings.HasSuffix(m.mode, "write") {
			s = "; sync"
		}
		// Odd rounds vcprobe first, even rounds fio first.
		loop := fmt.Sprintf("for i in $(seq 1 %d); do if [ $((i %% 2)) = 1 ]; then echo '=== vc'; %s%s; echo '=== fio'; %s%s; "+
			"else echo '=== fio'; %s%s; echo '=== vc'; %s%s; fi; done", rounds, vc, s, fio, s, fio, s, vc, s)
		before := loadAvg()
		out := sh(loop)
		var vcs, fios []float64
		for _, part := range strings.Split(out, "=== ")[1:] {
			tool, body, _ := strings.Cut(part, "\n")
			var v float64
			if tool == "vc" {
				var d probe.DiskResult
				if json.Unmarshal([]byte(body), &d) == nil {
					v = d.MBps
					if strings.HasPrefix(m.mode, "rand") {
						v = d.IOPS
					}
				}
				vcs = append(vcs, v)
				continue
			}
			if jobs, err := parse.Fio(body); err == nil {
				switch {
				case m.mode == "seqwrite":
					v = jobs[0].WriteBW / 1e6
				case m.mode == "seqread":
					v = jobs[0].ReadBW / 1e6
				case m.mode == "randwrite":
					v = jobs[0].WriteIOPS
				default:
					v = jobs[0].ReadIOPS
				}
			}
			fios = append(fios, v)
		}
		mv, mf := disk.Median(vcs), disk.Median(fios)
		unit := "MB/s"
		if strings.HasPrefix(m.mode, "rand") {
			unit = "IOPS"
		}
		fmt.Fprintf(&table, "%-9s vcprobe median %7.1f  fio median %7.1f %s  gap %.1f%%  (loadavg before %s, after %s)\n    vcprobe %.0f\n    fio     %.0f\n",
			m.mode, mv, mf, unit, 100*abs(mv-mf)/max(mv, mf), before, loadAvg(), vcs, fios)
	}
	sh("sudo -n rm -f " + f)
	t.Logf("vcprobe beside fio, %d tightly interleaved rounds per mode:\n%s", rounds, table.String())
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
