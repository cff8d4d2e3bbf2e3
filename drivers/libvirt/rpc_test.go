package libvirt

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/virtcert/virtcert/drivers"
)

// A libvirtd that accepts the connection but never answers must not hang
// Open: our deadline returns a host error.
func TestOpenHungDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("unix sockets unavailable: %v", err)
	}
	defer l.Close()
	var held []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // never answer
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Open(ctx, "qemu:///system?socket="+sock, drivers.OpenOptions{})
	if err == nil {
		t.Fatal("Open against a silent daemon succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Open returned after %s", d)
	}
	if drivers.ClassOf(err) != drivers.ClassHost || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("error %v (class %s)", err, drivers.ClassOf(err))
	}
}

func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Open(ctx, "qemu:///system?socket=/nonexistent/virtcert/libvirt-sock", drivers.OpenOptions{})
	if err == nil || drivers.ClassOf(err) != drivers.ClassHost || !strings.Contains(err.Error(), "cannot reach libvirt") {
		t.Fatalf("unreachable host: %v", err)
	}
}

func TestOpenBadInput(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		uri   string
		extra map[string]string
		want  string
	}{
		{"vbox:///system", nil, "unsupported scheme"},
		{"qemu:///system", map[string]string{"netwrok": "x"}, `unknown option "netwrok"`},
		{"qemu:///system", map[string]string{"domain_type": "xen"}, "want kvm or qemu"},
	} {
		_, err := Open(ctx, tc.uri, drivers.OpenOptions{Extra: tc.extra})
		if err == nil || drivers.ClassOf(err) != drivers.ClassInput || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: %v, want input error %q", tc.uri, tc.extra, err, tc.want)
		}
	}
}

// A call that hangs is abandoned at the deadline, the connection marked
// broken, and the next call gets a fresh connection.
func TestLabHungCallReconnects(t *testing.T) {
	uri := labURI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := openLab(t, ctx, uri)
	first, _ := h.c.get(ctx)
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	release := make(chan struct{})
	defer close(release)
	start := time.Now()
	_, err := do(short, h.c, "hang", func(l *golibvirt.Libvirt) (int, error) {
		<-release // stands in for an RPC libvirtd never answers
		return 0, nil
	})
	if err == nil || time.Since(start) > time.Second || drivers.ClassOf(err) != drivers.ClassHost {
		t.Fatalf("hung call: %v after %s", err, time.Since(start))
	}
	name, err := do(ctx, h.c, "hostname", func(l *golibvirt.Libvirt) (string, error) { return l.ConnectGetHostname() })
	if err != nil || name == "" {
		t.Fatalf("call after a broken connection: %q %v", name, err)
	}
	second, _ := h.c.get(ctx)
	if first == second {
		t.Fatal("the broken connection was reused")
	}
}
