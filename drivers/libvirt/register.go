package libvirt

import (
	"fmt"
	"net"
	"net/url"

	"github.com/virtcert/virtcert/drivers"
)

// Capabilities are what every libvirt guest can do (the conformance
// suite holds the driver to them).
var Capabilities = []string{drivers.CapDiskHotplug, drivers.CapLinkControl, drivers.CapNICHotplug, drivers.CapSaveRestore,
	drivers.CapPauseResume, drivers.CapGuestClock, drivers.CapGuestTimeSync, drivers.CapMACs, drivers.CapRunningConfig}

func init() {
	drivers.Register(drivers.Driver{Name: "libvirt", Open: Open, CheckURI: CheckURI, DefaultProfile: DefaultProfile, Capabilities: Capabilities})
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
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return false, fmt.Errorf("bad libvirt URI %q: want e.g. qemu:///system or qemu+ssh://user@host/system", uri)
	}
	pathOK := u.Path == "/system" || u.Path == "/session"
	switch u.Scheme {
	case "qemu", "qemu+unix":
		if u.Host != "" && u.Scheme == "qemu" {
			return false, fmt.Errorf("bad libvirt URI %q: qemu:// with a host name needs a transport (qemu+ssh://, qemu+tcp://, qemu+tls://)", uri)
		}
		if !pathOK {
			return false, fmt.Errorf("bad libvirt URI %q: path must be /system or /session", uri)
		}
		return true, nil
	case "qemu+ssh", "qemu+tcp", "qemu+tls", "qemu+libssh", "qemu+libssh2":
		if u.Host == "" {
			return false, fmt.Errorf("bad libvirt URI %q: %s needs a host", uri, u.Scheme)
		}
		if !pathOK {
			return false, fmt.Errorf("bad libvirt URI %q: path must be /system or /session", uri)
		}
		h := u.Hostname()
		return h == "localhost" || h == "127.0.0.1" || h == "::1", nil
	case "test":
		return true, nil
	}
	return false, fmt.Errorf("bad libvirt URI %q: unsupported scheme %q (qemu, qemu+ssh, qemu+tcp, qemu+tls)", uri, u.Scheme)
}

// Controller is the controller's address as a guest at guestAddr sees it:
// on a NAT network, its gateway (x.y.z.1).
func (h *Host) Controller(guestAddr string) string {
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
