package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/resolve"
)

// TestPeerUnavailableIsError: a peer guest that cannot be provisioned, or
// whose host cannot be opened, makes the peer checks ERROR (the harness or
// the host broke; nothing was learnt about the guest), never SKIP, and the
// target is not CERTIFIED (issue 15). A plan that asks for no peer still
// SKIPs them.
func TestPeerUnavailableIsError(t *testing.T) {
	cases := []struct {
		name, extra string
		failOpen    bool
		want        reports.Status
		why         string
	}{
		{"provision fails", "", false, reports.Error, "peer guest"},
		{"peer host fails", "peer: h2/other\n", true, reports.Error, "peer host h2"},
		{"peer: none", "peer: none\n", false, reports.Skip, "peer: none"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, d := newFakeHost(), &fakeDial{}
			h.failProv["-peer"] = drivers.Errorf(drivers.ClassHost, "provision", "no space left in pool")
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
			if r.Status != c.want || !strings.Contains(r.Reason, c.why) {
				t.Errorf("network.peer: %s %q, want %s mentioning %q", r.Status, r.Reason, c.want, c.why)
			}
			if c.want == reports.Error && tg.Verdict(run.Complete) == reports.Certified {
				t.Errorf("target CERTIFIED without its peer checks")
			}
		})
	}
}

// peerPlan: target h1/tiny, and h2/other on a second host (a matrix target,
// so it can be named as the peer).
func peerPlan(t *testing.T, extra string) *plan.Plan {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "disk.qcow2"), []byte("not really qcow2"), 0o644)
	text := `name: test
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
` + extra
	p, err := plan.Parse([]byte(text), "test.yaml", dir, resolve.Knowledge(nil))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
