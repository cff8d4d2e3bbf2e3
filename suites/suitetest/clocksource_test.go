package suitetest_test

import (
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites/suitetest"
)

// TestJiffiesClocksource judges two boots of the tiny guest under
// emulation as the guest's user would (issue 15): one that fell back to
// refined-jiffies (available "refined-jiffies jiffies") FAILs both
// clock.source and clock.available; one that kept tsc as its only source
// PASSes both where the profile allows tsc (kvm-tcg). On KVM the same
// tsc-alone boot lacks kvm-clock: clock.available FAILs there. The same
// jiffies boot laid over the KVM set FAILs on KVM too. Before the fix,
// clock.source SKIPped under kvm-tcg and clock.available counted the two
// jiffies sources and PASSed, while tsc alone FAILed it.
func TestJiffiesClocksource(t *testing.T) {
	for _, c := range []struct {
		platform, check, over string
		want                  reports.Status
		reason                string
	}{
		{"kvm-tcg", "clock.source", "clock/jiffies.txt", reports.Fail, "current_clocksource is a hardware clock: expected not jiffies or refined-jiffies"},
		{"kvm-tcg", "clock.available", "clock/jiffies.txt", reports.Fail, "not counted: refined-jiffies jiffies"},
		{"kvm-tcg", "clock.source", "clock/tsc-only.txt", reports.Pass, ""},
		{"kvm-tcg", "clock.available", "clock/tsc-only.txt", reports.Pass, ""},
		{"kvm", "clock.source", "../kvm-tcg/clock/jiffies.txt", reports.Fail, "refined-jiffies"},
		{"kvm", "clock.available", "../kvm-tcg/clock/jiffies.txt", reports.Fail, "got 0 (); not counted"},
		{"kvm", "clock.source", "../kvm-tcg/clock/tsc-only.txt", reports.Pass, ""},
		{"kvm", "clock.available", "../kvm-tcg/clock/tsc-only.txt", reports.Fail, "got 1 (tsc)"},
		{"hyperv-gen2", "clock.source", "../kvm-tcg/clock/jiffies.txt", reports.Fail, "refined-jiffies"},
	} {
		t.Run(c.platform+"/"+c.check+"/"+c.over, func(t *testing.T) {
			t.Parallel()
			r := run(t, tc{platform: c.platform, check: c.check, over: []string{c.over}, console: "healthy.log"})
			if r.Status != c.want || !strings.Contains(r.Reason, c.reason) {
				t.Fatalf("want %s (%q), got\n%s", c.want, c.reason, suitetest.Describe(r))
			}
		})
	}
}
