package suites

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
)

// RunningConfig asks the host driver how it runs the guest (memory, vCPUs,
// NIC models): the values a check compares the guest's own view with,
// never the plan's defaults. It returns why it is unknown ("" when known):
// the driver has no such capability (an existing machine) or cannot report
// it. A host that breaks while asked ends the check in ERROR. The call is
// recorded as evidence.
func (t *T) RunningConfig() (drivers.GuestConfig, string) {
	rc, why := drivers.Need[drivers.RunningConfig](t.Target.Guest, "RunningConfig (the host's report of the guest's memory, vCPUs and NICs)")
	if why != "" {
		return drivers.GuestConfig{}, why
	}
	start := time.Now()
	c, err := rc.RunningConfig(t.Context())
	out := "ok"
	if err != nil {
		out = err.Error()
	}
	t.Evidence(reports.Evidence{Step: "host: how the host runs the guest", Command: "host: RunningConfig",
		Output: out + "; " + describeConfig(c), Duration: time.Since(start)})
	switch {
	case errors.Is(err, drivers.ErrUnsupported):
		return drivers.GuestConfig{}, "the host driver cannot report the guest's configuration: " + err.Error()
	case err != nil:
		t.Errorf("host: RunningConfig: %v", err)
	}
	return c, ""
}

func describeConfig(c drivers.GuestConfig) string {
	s := "memory " + itoaOr(c.MemoryMB, " MiB") + ", vCPUs " + itoaOr(c.CPUs, "")
	if c.NICModels != nil {
		s += ", NIC models " + joinOr(c.NICModels)
	}
	return s
}

func itoaOr(n int, unit string) string {
	if n == 0 {
		return "not reported"
	}
	return strconv.Itoa(n) + unit
}

func joinOr(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, " ")
}
