package existing

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/drivers/drivertest"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in, host, user, addr string
		port                 int
		err                  string
	}{
		{in: "192.168.150.10", host: "192.168.150.10", port: 22, addr: "192.168.150.10"},
		{in: "vm.example", host: "vm.example", port: 22, addr: "vm.example"},
		{in: "vm.example:2222", host: "vm.example", port: 2222, addr: "vm.example:2222"},
		{in: "ssh://debian@10.0.0.5:2200", host: "10.0.0.5", user: "debian", port: 2200, addr: "10.0.0.5:2200"},
		{in: "ssh://root@[fe80::1]", host: "fe80::1", user: "root", port: 22, addr: "fe80::1"},
		{in: "[2001:db8::1]:22", host: "2001:db8::1", port: 22, addr: "2001:db8::1"},
		{in: "", err: "empty address"},
		{in: "http://x", err: "scheme"},
		{in: "ssh://u:secret@h", err: "password does not belong"},
		{in: "ssh://h/path", err: "no path or query"},
		{in: "h:99999", err: "bad port"},
		{in: "ssh://", err: "no host"},
		{in: "a b", err: "not a host"},
	} {
		h, err := parse(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want %q", tc.in, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("%q: password in error %v", tc.in, err)
			}
			continue
		}
		if err != nil || h.host != tc.host || h.port != tc.port || h.user != tc.user || h.address() != tc.addr {
			t.Errorf("%q: %+v %v", tc.in, h, err)
		}
	}
}

func TestOpenRejectsOptions(t *testing.T) {
	_, err := Open(context.Background(), "h", drivers.OpenOptions{Extra: map[string]string{"pool": "x"}})
	if drivers.ClassOf(err) != drivers.ClassInput {
		t.Fatalf("unknown option: %v", err)
	}
	_, err = Open(context.Background(), "ftp://h", drivers.OpenOptions{})
	if drivers.ClassOf(err) != drivers.ClassInput {
		t.Fatalf("bad URI: %v", err)
	}
}

func TestAddressUnreachable(t *testing.T) {
	// A port nobody listens on: Address must give up when ctx ends, as a
	// guest error naming the port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skip(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	h, _ := Open(context.Background(), "127.0.0.1:"+strconv.Itoa(port), drivers.OpenOptions{})
	g, _ := h.Provision(context.Background(), drivers.GuestSpec{Name: "x"})
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = g.Address(ctx)
	if err == nil || drivers.ClassOf(err) != drivers.ClassGuest || !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Fatalf("Address: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Address returned after %s", d)
	}
}

// harness runs the conformance suite against a local listener standing
// in for the machine's SSH port.
type harness struct{ addr string }

func (h harness) Open(ctx context.Context) (drivers.Host, error) {
	return Open(ctx, "ssh://tester@"+h.addr, drivers.OpenOptions{})
}
func (h harness) Spec(name, label string) drivers.GuestSpec {
	return drivers.GuestSpec{Name: name, RunLabel: label}
}
func (h harness) Config() drivertest.Config { return drivertest.Config{Provisions: false} }

func TestConformance(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("cannot listen on loopback: %v", err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	drivertest.Run(t, harness{addr: l.Addr().String()})
}
