package drivers

import (
	"context"
	"net"
)

// DialFunc dials addr on some network, as net.Dialer.DialContext does.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// GuestNet is an optional capability of a Host (not a Guest): the host
// reaches its guests' network for the controller, so the controller needs
// no route to it (libvirt over qemu+ssh with guest_via=host dials guests
// through the host's SSH server). GuestDialer returns nil when the
// controller dials guests directly.
type GuestNet interface {
	GuestDialer() DialFunc
}

// GuestDialerOf returns h's guest dialer, nil when h has none (dial
// directly).
func GuestDialerOf(h Host) DialFunc {
	if g, ok := h.(GuestNet); ok {
		return g.GuestDialer()
	}
	return nil
}
