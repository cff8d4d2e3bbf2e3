package suites

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
)

// TestHostFailed: the one rule for a failed host step in a check.
func TestHostFailed(t *testing.T) {
	for _, c := range []struct {
		err    error
		status reports.Status
		reason string
	}{
		{nil, reports.Pass, ""},
		{drivers.ErrUnsupported, reports.Skip, "host driver cannot reboot: not supported by this driver"},
		{drivers.Errorf(drivers.ClassGuest, "power", "guest ignored the request"), reports.Fail, "host reboot: power: guest ignored the request"},
		{drivers.Errorf(drivers.ClassHost, "power", "libvirtd gone"), reports.Error, "host reboot: power: libvirtd gone"},
		{errors.New("unclassified"), reports.Error, "host reboot: unclassified"},
	} {
		chk := Check{ID: "x.host", Area: "x", Title: "x", Timeout: time.Second, Run: func(t *T) {
			t.HostStep("Power(reboot)", "Power(reboot)", "", c.err, time.Millisecond)
			t.HostFailed("reboot", c.err)
		}}
		res := Execute(context.Background(), chk, &Target{})
		if res.Status != c.status || res.Reason != c.reason {
			t.Errorf("%v: %s %q, want %s %q", c.err, res.Status, res.Reason, c.status, c.reason)
		}
		if len(res.Evidence) == 0 || res.Evidence[0].Command != "host: Power(reboot)" || res.Evidence[0].Output == "" {
			t.Errorf("%v: evidence %+v", c.err, res.Evidence)
		}
	}
}
