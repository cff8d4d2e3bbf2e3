package runner

import (
	"context"
	"strings"
	"testing"
	"time"

	_ "github.com/virtcert/virtcert/guests/transport/ssh" // the Linux peer's transport
	"github.com/virtcert/virtcert/suites"
)

// TestLinuxPeerOfWindowsTarget: a peer of another image (peer:
// HOST/IMAGE) is reached the way its own OS is: a Linux peer of a
// Windows target over SSH, not over the target's WinRM. The stand-in
// peer never answers SSH and serves WinRM on 5986 (a Windows image
// called linux), so its two-guest check ERRORs, the reason saying SSH and
// naming the peer's own image setting, images.lin.os.
func TestLinuxPeerOfWindowsTarget(t *testing.T) {
	h := &winHost{guests: map[string]*winGuest{}}
	check := winCheck
	check.ID, check.Needs = "windows.peer-hello", []string{suites.NeedPeer}
	o := winOpts(t, h, check)
	t.Cleanup(func() { h.Close() })
	p := parsePlan(t, `name: win
hosts:
  h1: {driver: libvirt, uri: "qemu:///system"}
images:
  win: {path: disk.qcow2, os: windows, memory_mb: 2048}
  lin: {path: disk.qcow2, os: linux, memory_mb: 512}
matrix: [{host: h1, image: win}, {host: h1, image: lin}]
peer: h1/lin
timeouts: {ready: 2s, provision: 5s, destroy: 1s}
`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, _, err := runP(ctx, p, o)
	if err != nil {
		t.Fatal(err)
	}
	r := result(t, run.Targets[0], "windows.peer-hello")
	t.Logf("%s: %s", r.Status, r.Reason)
	if !strings.Contains(r.Reason, "never answered SSH") || strings.Contains(r.Reason, "never answered WINRM") || !strings.Contains(r.Reason, "images.lin.os") {
		t.Errorf("peer check: %s %q, want the Linux peer dialled over SSH", r.Status, r.Reason)
	}
}
