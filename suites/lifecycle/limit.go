package lifecycle

import (
	"fmt"
	"math"
	"time"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
)

// Limit is a lifecycle duration limit. On a platform whose pace depends on
// the host's load (software emulation: the kvm-tcg profile sets
// boot_factor), a healthy reboot or shutdown can take longer than any fixed
// figure, so the limit grows with the guest's own measured boot-to-ready
// time in this run: max(fixed, factor × boot). Elsewhere (boot_factor 0)
// the fixed limit stands alone.
type Limit struct {
	Key    string  // the profile key of the fixed limit (max_seconds)
	Fixed  float64 // its value
	Factor float64 // the profile's boot_factor (0: fixed limit)
	Boot   float64 // the guest's boot-to-ready seconds (0: unknown)
}

// Scaled reports whether the boot time raised the limit.
func (l Limit) Scaled() bool { return l.Factor > 0 && l.Factor*l.Boot > l.Fixed }

// Seconds is the limit in force.
func (l Limit) Seconds() float64 {
	if l.Scaled() {
		return l.Factor * l.Boot
	}
	return l.Fixed
}

// String is the limit for a verdict, to a tenth of a second ("300s",
// "88.7s").
func (l Limit) String() string { return fmt.Sprintf("%gs", math.Round(l.Seconds()*10)/10) }

// Duration is Seconds as a time.Duration.
func (l Limit) Duration() time.Duration { return time.Duration(l.Seconds() * float64(time.Second)) }

// Basis says how the limit was reached, for the evidence.
func (l Limit) Basis() string {
	switch {
	case l.Factor <= 0:
		return fmt.Sprintf("%s=%g (fixed; boot_factor 0)", l.Key, l.Fixed)
	case l.Boot <= 0:
		return fmt.Sprintf("%s=%g (boot_factor %g, but the guest's boot time is unknown)", l.Key, l.Fixed, l.Factor)
	case l.Scaled():
		return fmt.Sprintf("boot_factor %g × this guest's boot-to-ready %.1fs = %.1fs (above %s=%g)", l.Factor, l.Boot, l.Seconds(), l.Key, l.Fixed)
	}
	return fmt.Sprintf("%s=%g (above boot_factor %g × this guest's boot-to-ready %.1fs = %.1fs)", l.Key, l.Fixed, l.Factor, l.Boot, l.Factor*l.Boot)
}

// limit reads the check's fixed limit key and boot_factor, and records the
// limit in force and its basis as evidence.
func limit(t *suites.T, key string) Limit {
	l := Limit{Key: key, Fixed: t.Float(key), Factor: t.Float("boot_factor"), Boot: t.Target.BootSeconds}
	t.Evidence(reports.Evidence{Step: "limit: " + key, Output: fmt.Sprintf("%.1fs: %s", l.Seconds(), l.Basis())})
	return l
}
