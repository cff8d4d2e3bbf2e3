package libvirt

import (
	"fmt"
	"net"

	"github.com/virtcert/virtcert/drivers"
)

// Capabilities are what every libvirt guest can do (the conformance
// suite holds the driver to them).
var Capabilities = []string{drivers.CapDiskHotplug, drivers.CapLinkControl, drivers.CapNICHotplug, drivers.CapSaveRestore,
	drivers.CapPauseResume, drivers.CapGuestClock, drivers.CapGuestTimeSync, drivers.CapMACs, drivers.CapRunningConfig}

func init() {
	drivers.Register(drivers.Driver{Name: "libvirt", Open: Open, CheckURI: CheckURI, DefaultProfile: DefaultProfile, Capabilities: Capabilities,
		Hypervisors: []string{"kvm", "qemu"}, HostCapabilities: []string{drivers.CapHostResources}})
}

// DefaultProfile is "kvm" with hardware acceleration, else "kvm-tcg"
// (software emulation: no paravirtual clock).
func DefaultProfile(info drivers.HostInfo, _ map[string]string) string {
	if info.Accel == "kvm" {
		return "kvm"
	}
	return "kvm-tcg"
}

// CheckURI validates a libvirt URI and reports whether it names this
// machine.
func CheckURI(uri string) (local bool, err error) {
	// One grammar: the dialer's own (parseURI), so a URI the plan accepts
	// is one Open can dial, and the error redacts it.
	u, transport, err := parseURI(uri)
	if err != nil {
		return false, fmt.Errorf("bad libvirt URI %w", err)
	}
	if transport == "unix" {
		return true, nil
	}
	h := u.Hostname()
	return h == "localhost" || h == "127.0.0.1" || h == "::1", nil
}

// Controller is the controller's address as a guest at guestAddr sees it:
// on a NAT network of a local host, its gateway (x.y.z.1). On a remote
// host the gateway is that host, not the controller: none is claimed
// (checks then read the guest's $SSH_CONNECTION).
func (h *Host) Controller(guestAddr string) string {
	if !h.local {
		return ""
	}
	host, _, err := net.SplitHostPort(guestAddr)
	if err != nil {
		host = guestAddr
	}
	ip := net.ParseIP(host).To4()
	if ip == nil {
		return ""
	}
	return net.IPv4(ip[0], ip[1], ip[2], 1).String()
}

var _ drivers.ControllerAddress = (*Host)(nil)
