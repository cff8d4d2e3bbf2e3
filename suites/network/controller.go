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
// the guest's $SSH_CONNECTION names it. Empty when neither does.
func controllerAddr(t *suites.T) string {
	if t.Target.Controller != "" {
		return t.Target.Controller
	}
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
