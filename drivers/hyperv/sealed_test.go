package hyperv_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/masterzen/winrm"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/drivers/hyperv"
	"github.com/virtcert/virtcert/fixtures/hypervsim"
	"github.com/virtcert/virtcert/fixtures/wsman"
)

// TestSealedHTTP: against the simulator's plain-HTTP listener with
// Windows' defaults (AllowUnencrypted=false), the driver's NTLM runs
// commands with every message sealed; the driver's former unsealed NTLM
// gets the 401 Windows gives it; a wrong password is an input error.
func TestSealedHTTP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sim, err := hypervsim.Start(ctx, hypervsim.Options{Users: map[string]string{"u": "pw-123"}, HTTP: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	if !strings.HasPrefix(sim.URL, "http://") {
		t.Fatalf("URL %s, want plain http", sim.URL)
	}
	// The driver's whole open: script uploads, then info.ps1 by -File.
	h, err := hyperv.Open(ctx, sim.URL, drivers.OpenOptions{Username: "u", Password: "pw-123"})
	if err != nil {
		t.Fatalf("sealed open: %v", err)
	}
	info, err := h.Info(ctx)
	_ = h.Close()
	if err != nil || info.Name == "" {
		t.Fatalf("sealed info: %+v %v", info, err)
	}

	// Unsealed NTLM (masterzen with the driver's HTTPS transport) is
	// refused by the stand-in, as by Windows.
	host, port := hostPort(t, sim.URL)
	ep := winrm.NewEndpoint(host, port, false, false, nil, nil, nil, 10*time.Second)
	params := winrm.NewParameters("PT5S", "en-US", 153600)
	params.TransportDecorator = func() winrm.Transporter { return &hyperv.NTLMTransport{User: "u", Password: "pw-123"} }
	c, err := winrm.NewClientWithParameters(ep, "u", "pw-123", params)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateShell(); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("unsealed NTLM over http: %v, want HTTP 401", err)
	}

	_, err = hyperv.DialWinRM(ctx, sim.URL, drivers.OpenOptions{Username: "u", Password: "wrong-pw"})
	if err == nil || drivers.ClassOf(err) != drivers.ClassInput || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "wrong-pw") {
		t.Fatalf("wrong password over sealed http: %v (class %v), want an input error naming the 401", err, drivers.ClassOf(err))
	}
}

// TestSealedHTTPRefusesBasicOnlyHost: a plain-HTTP host that offers only
// Basic gets a SECURITY error and no password.
func TestSealedHTTPRefusesBasicOnlyHost(t *testing.T) {
	b := &basicOnly{}
	srv := plainServer(t, b)
	_, err := hyperv.DialWinRM(context.Background(), srv+"/wsman", drivers.OpenOptions{Username: "u", Password: "hunter2"})
	if err == nil || drivers.ClassOf(err) != drivers.ClassSecurity || !strings.Contains(err.Error(), "SECURITY") {
		t.Fatalf("Basic-only http host: %v (class %v), want a SECURITY error", err, drivers.ClassOf(err))
	}
	if b.sentBasic(t, "hunter2") {
		t.Fatalf("the password went out in a Basic header: %q", b.auths)
	}
}

// TestSealedHTTPDeadline: over sealed HTTP too, a command past its
// deadline is stopped on the host at once. That needs a second sealed
// session beside the pending Receive long poll: one session carries one
// request at a time.
func TestSealedHTTPDeadline(t *testing.T) {
	be := &slowBackend{cancelled: make(chan struct{})}
	srv, err := wsman.Start(wsman.Config{Backend: be, Users: map[string]string{"u": "pw-123"}, HTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	ex, err := hyperv.DialWinRM(ctx, srv.URL, drivers.OpenOptions{Username: "u", Password: "pw-123"})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if _, err := ex.Exec(short, "hang"); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("hang: %v", err)
	}
	select {
	case <-be.cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the abandoned command still runs on the host")
	}
	for i := 0; i < 20; i++ {
		out, err := ex.Exec(ctx, "echo ok")
		if err != nil || out.Exit != 0 || string(out.Stdout) != "ran: echo ok" {
			t.Fatalf("command %d: %+v %v", i, out, err)
		}
	}
}
