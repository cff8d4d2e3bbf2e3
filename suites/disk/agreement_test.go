package disk_test

import (
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/suitetest"
)

// TestAgreementMode runs disk.throughput and disk.iops whole on the KVM
// transcripts with tool agreement off (a certification) and on (the
// measurement mode, `run --agreement`). Off: fio never runs, vcprobe runs
// 3 rounds per mode, its spread is evidence, and a slow disk still FAILs.
// On: fio runs beside vcprobe over 5 rounds and the gap is evidence, as
// before the mode existed. Without the mode, fio ran on every
// certification; without the gate, "fio" commands show up with it off.
func TestAgreementMode(t *testing.T) {
	root, err := suitetest.Root()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		check, overlay string
		agreement      bool
		want           reports.Status
		reason         string
	}{
		{"disk.throughput", "", false, reports.Pass, ""},
		{"disk.throughput", "", true, reports.Pass, ""},
		{"disk.iops", "", false, reports.Pass, ""},
		{"disk.iops", "", true, reports.Pass, ""},
		{"disk.throughput", "disk/faulty-slow.txt", false, reports.Fail, "got 19.7 MB/s"},
		{"disk.throughput", "disk/faulty-slow.txt", true, reports.Fail, "got 19.7 MB/s"},
		{"disk.iops", "disk/faulty-slow.txt", false, reports.Fail, "300.0 IOPS"},
		{"disk.iops", "disk/faulty-slow.txt", true, reports.Fail, "300.0 IOPS"},
	} {
		name := c.check + "/" + strings.TrimSuffix(c.overlay, ".txt") + map[bool]string{false: "/agreement-off", true: "/agreement-on"}[c.agreement]
		t.Run(name, func(t *testing.T) {
			var ov []string
			if c.overlay != "" {
				ov = append(ov, c.overlay)
			}
			x, err := suitetest.Platform(root, "kvm", ov...)
			if err != nil {
				t.Fatal(err)
			}
			tg, err := suitetest.Target("kvm", x, &suitetest.Guest{GuestName: "transcript"})
			if err != nil {
				t.Fatal(err)
			}
			tg.Helper, tg.Agreement = "/tmp/vcprobe", c.agreement
			r, err := suitetest.Execute(c.check, tg)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != c.want || !strings.Contains(r.Reason, c.reason) {
				t.Fatalf("got %s, want %s with %q\n%s", r.Status, c.want, c.reason, suitetest.Describe(r))
			}
			vcRounds, fioRounds := 0, 0
			for _, cmd := range x.Commands {
				switch {
				case strings.Contains(cmd, " disk -path "):
					vcRounds++
				case strings.Contains(cmd, "fio --name"):
					fioRounds++
				}
			}
			wantVC, wantFio := 2*3, 0 // two modes
			if c.agreement {
				wantVC, wantFio = 2*5, 2*5
			}
			if vcRounds != wantVC || fioRounds != wantFio || x.Ran("command -v fio") != c.agreement {
				t.Fatalf("vcprobe rounds %d (want %d), fio rounds %d (want %d), fio looked up %v\n%s",
					vcRounds, wantVC, fioRounds, wantFio, x.Ran("command -v fio"), strings.Join(x.Commands, "\n"))
			}
			ev := evidence(r)
			for _, w := range []string{"spread (vcprobe):", "rounds: median"} {
				if !strings.Contains(ev, w) {
					t.Errorf("evidence lacks %q:\n%s", w, ev)
				}
			}
			off := strings.Contains(ev, "tool agreement off")
			gap := strings.Contains(ev, "fio beside vcprobe")
			if off == c.agreement || gap != c.agreement {
				t.Errorf("agreement %v: evidence says off=%v, gap=%v\n%s", c.agreement, off, gap, ev)
			}
			for _, m := range r.Measures {
				if m.Source != "vcprobe" && !c.agreement {
					t.Errorf("measurement %s from %s with agreement off", m.Name, m.Source)
				}
			}
		})
	}
}

func evidence(r *reports.Result) string {
	var b strings.Builder
	for _, e := range r.Evidence {
		b.WriteString(e.Step + ": " + e.Actual + " " + e.Output + "\n")
	}
	return b.String()
}

func TestSpread(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want string
	}{
		{[]float64{110, 100, 90}, "3 rounds: median 100.0 IOPS, min 90.0, max 110.0, spread 20.0% of the median"},
		{[]float64{100, 200}, "2 rounds: median 150.0 IOPS, min 100.0, max 200.0, spread 66.7% of the median"},
		{[]float64{5}, "1 round: median 5.0 IOPS, min 5.0, max 5.0, spread 0.0% of the median"},
		{nil, "no round succeeded"},
	} {
		if got := suites.Spread("IOPS", c.xs); got != c.want {
			t.Errorf("Spread(%v) = %q, want %q", c.xs, got, c.want)
		}
	}
}
