package winrm_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
)

// recordingDial is a drivers.DialFunc that counts its connections (a
// guest reached through its host, guest_via: host). The address the
// client asks for is unroutable; the dial func alone knows the real one,
// so a client that dials directly cannot get through.
func recordingDial(real string) (drivers.DialFunc, *atomic.Int32) {
	var n atomic.Int32
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		n.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, real)
	}, &n
}

// unroutable is an address nothing listens on (TEST-NET-1).
const unroutable = "192.0.2.1:5986"

// TestConfigDialCarriesEveryConnection: Config.Dial opens the connections
// over HTTPS and over sealed HTTP.
func TestConfigDialCarriesEveryConnection(t *testing.T) {
	t.Run("https", func(t *testing.T) {
		s := startServer(t, nil)
		cfg := s.config()
		var n *atomic.Int32
		cfg.Dial, n = recordingDial(s.addr)
		cfg.Addr = unroutable
		cfg.ConnectTimeout = 2 * time.Second
		c := dial(t, cfg)
		if r := run(t, c, "exit 4"); r.Exit != 4 {
			t.Fatalf("exit %d", r.Exit)
		}
		if n.Load() == 0 {
			t.Fatal("Config.Dial was not used")
		}
	})
	t.Run("sealed-http", func(t *testing.T) {
		s, w := startHTTP(t)
		cfg := s.httpConfig("192.0.2.1:5985")
		var n *atomic.Int32
		cfg.Dial, n = recordingDial(w.addr)
		cfg.ConnectTimeout = 2 * time.Second
		c := dial(t, cfg)
		if r := run(t, c, "exit 5"); r.Exit != 5 {
			t.Fatalf("exit %d", r.Exit)
		}
		if n.Load() == 0 {
			t.Fatal("Config.Dial was not used")
		}
	})
}

// TestDialReadyUsesAccessDial: the registered dialer passes Access.Dial
// (set by the runner for guest_via: host) to the client.
func TestDialReadyUsesAccessDial(t *testing.T) {
	s := startServer(t, nil)
	d, _ := transport.DialerFor("winrm")
	via, n := recordingDial(s.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	x, detail, err := d(ctx, unroutable, transport.Access{User: testUser, Password: testPass, HostKey: s.pin, Dial: via})
	if err != nil {
		t.Fatalf("%v (%s)", err, detail)
	}
	x.Close()
	if n.Load() == 0 {
		t.Fatal("Access.Dial was not used")
	}
}
