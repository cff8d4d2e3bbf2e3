package runner

import (
	"cmp"
	"context"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/reports"
)

// TestPeerUnavailable: a peer guest that cannot be provisioned (whatever
// the class of the failure), or whose host cannot be opened, makes the
// peer checks ERROR (the harness or the host broke; nothing was learnt
// about the guest), never SKIP, and neither the target nor the run is
// CERTIFIED (issue 15); the target's own checks still run. A plan that
// asks for no peer SKIPs them with the reason, and the rest can still
// certify.
func TestPeerUnavailable(t *testing.T) {
	cases := []struct {
		name, extra string
		provErr     error
		failOpen    bool
		want        reports.Status
		why         string
		whole       bool // why is the whole reason
	}{
		{"provision fails", "", drivers.Errorf(drivers.ClassHost, "provision", "no space left in pool"), false, reports.Error, "peer guest (h1/tiny)", false},
		{"provision fails with a guest-class error", "", drivers.Errorf(drivers.ClassGuest, "provision", "image does not boot"), false, reports.Error, "peer guest (h1/tiny)", false},
		{"peer host fails", "peer: h2/other\n", nil, true, reports.Error, "peer host h2", false},
		{"peer: none", "peer: none\n", nil, false, reports.Skip, "plan sets peer: none", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, d := newFakeHost(), &fakeDial{}
			h.failProv["-peer"] = cmp.Or(c.provErr, drivers.Errorf(drivers.ClassHost, "provision", "no space left in pool"))
			o := opts(t, h, d, okCheck, peerCheck)
			o.Openers["libvirt"] = func(ctx context.Context, uri string, _ drivers.OpenOptions) (drivers.Host, error) {
				if c.failOpen && strings.Contains(uri, "h2") {
					return nil, drivers.Errorf(drivers.ClassHost, "open", "connection refused")
				}
				return h, nil
			}
			p := peerPlan(t, c.extra)
			run, _, err := runP(context.Background(), p, o)
			if err != nil {
				t.Fatal(err)
			}
			var tg *reports.Target
			for _, x := range run.Targets {
				if x.ID == "h1/tiny" {
					tg = x
				}
			}
			r := result(t, tg, "network.peer")
			if r.Status != c.want || !strings.Contains(r.Reason, c.why) || c.whole && r.Reason != c.why {
				t.Errorf("network.peer: %s %q, want %s with %q", r.Status, r.Reason, c.want, c.why)
			}
			if r := result(t, tg, "platform.ok"); r.Status != reports.Pass {
				t.Errorf("own check: %s %s", r.Status, r.Reason)
			}
			if c.want == reports.Error && (tg.Verdict(run.Complete) == reports.Certified || run.Verdict() == reports.Certified) {
				t.Errorf("CERTIFIED without its peer checks")
			}
			if c.want == reports.Skip && run.Verdict() != reports.Certified {
				t.Errorf("verdict %s", run.Verdict())
			}
		})
	}
}

// peerPlan: target h1/tiny, and h2/other on a second host (a matrix target,
// so it can be named as the peer).
func peerPlan(t *testing.T, extra string) *plan.Plan {
	t.Helper()
	return parsePlan(t, `name: test
hosts:
  h1: {driver: libvirt, uri: "qemu:///system"}
  h2: {driver: libvirt, uri: "qemu+ssh://h2/system"}
images:
  tiny: {path: disk.qcow2, memory_mb: 128}
  other: {path: disk.qcow2, memory_mb: 128}
matrix:
  - {host: h1, image: tiny}
  - {host: h2, image: other}
timeouts: {ready: 2s, provision: 5s, destroy: 1s}
`+extra)
}
