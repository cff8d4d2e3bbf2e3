package network

import (
	"net/netip"
	"strings"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
)

// controllerAddr is the controller's address as the guest sees it: the
// host driver's (libvirt: its network's gateway), else the address the
// guest's SSH session comes from. The existing driver knows nothing of
// the guest's network, but the controller reached the guest over SSH, so
// the guest's $SSH_CONNECTION names it — unless the controller reached it
// through its host (guest_via: host): then $SSH_CONNECTION names the host
// and no path joins the controller and the guest. When there is no
// address, why says so (a check that needs one SKIPs with it).
func controllerAddr(t *suites.T) (addr, why string) {
	switch {
	case t.Target.ViaHost:
		return "", "the controller reaches this guest only through its host (guest_via: host): there is no direct path between them (network.throughput.peer measures guest to guest)"
	case t.Target.Controller != "":
		return t.Target.Controller, ""
	}
	if a := sshClient(t); a != "" {
		return a, ""
	}
	return "", "controller address as seen by the guest is unknown (the host driver reports none, and the guest's $SSH_CONNECTION names none)"
}

// sshClient is the address the guest's SSH session comes from, "" when
// $SSH_CONNECTION names none.
func sshClient(t *suites.T) string {
	r := t.Run("controller address as the guest sees it ($SSH_CONNECTION)", `echo "$SSH_CONNECTION"`)
	a, ok := SSHClientAddr(string(r.Stdout))
	if !ok {
		t.Evidence(reports.Evidence{Step: "controller address", Output: "the host driver reports none and $SSH_CONNECTION names none"})
		return ""
	}
	return a
}

// SSHClientAddr parses $SSH_CONNECTION ("client-ip client-port server-ip
// server-port") and returns the client's address.
func SSHClientAddr(s string) (string, bool) {
	f := strings.Fields(s)
	if len(f) != 4 {
		return "", false
	}
	a, err := netip.ParseAddr(f[0])
	if err != nil || a.IsUnspecified() {
		return "", false
	}
	return a.Unmap().WithZone("").String(), true
}
