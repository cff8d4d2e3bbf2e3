package winrm_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/fixtures/winguest"
	"github.com/virtcert/virtcert/fixtures/wsman"
	"github.com/virtcert/virtcert/guests/transport/winrm"
)

const (
	testUser = "Administrator"
	testPass = "Vc-test-Pa55!"
)

// server is a WS-Management server with a simulated Windows guest
// behind it.
type server struct {
	run   *wsman.Running
	guest *winguest.Guest
	pin   string // CertFingerprint of its certificate
	addr  string
}

func startServer(t testing.TB, tweak func(*wsman.Config), hosts ...string) *server {
	t.Helper()
	tm, err := wsman.NewTLSMaterial(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	g := winguest.New()
	cfg := wsman.Config{Backend: g, Users: map[string]string{testUser: testPass}, TLS: tm}
	if tweak != nil {
		tweak(&cfg)
	}
	r, err := wsman.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return &server{run: r, guest: g, pin: winrm.CertFingerprint(tm.ServerCertDER), addr: net.JoinHostPort(r.Host, itoa(r.Port))}
}

func itoa(n int) string {
	b := []byte{}
	for n > 0 || len(b) == 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func (s *server) config() winrm.Config {
	return winrm.Config{Addr: s.addr, User: testUser, Password: drivers.Secret(testPass), CertSHA256: s.pin}
}

func dial(t testing.TB, cfg winrm.Config) *winrm.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := winrm.Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dropProxy forwards TCP to target until Drop cuts every connection and
// stops accepting: a guest whose WinRM service vanished mid-command.
type dropProxy struct {
	ln      net.Listener
	target  string
	mu      sync.Mutex
	conns   []net.Conn
	dropped bool
	wg      sync.WaitGroup
}

func newDropProxy(t testing.TB, target string) *dropProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dropProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.Drop)
	return p
}

func (p *dropProxy) Addr() string { return p.ln.Addr().String() }

func (p *dropProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.dropped { // accepted just as Drop ran
			p.mu.Unlock()
			c.Close()
			u.Close()
			return
		}
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(u, c); u.Close() }()
		go func() { _, _ = io.Copy(c, u); c.Close() }()
	}
}

// Drop closes the listener and every connection.
func (p *dropProxy) Drop() {
	p.ln.Close()
	p.mu.Lock()
	p.dropped = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}
