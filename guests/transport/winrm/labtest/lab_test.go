// Package labtest runs the WinRM transport over the lab network. It is
// its own package so that the lab run (make e2e, which sets
// VIRTCERT_E2E) re-runs only this test, not the transport's unit tests.
package labtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/fixtures/winguest"
	"github.com/virtcert/virtcert/fixtures/wsman"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/guests/transport/winrm"
)

// labBridge is the lab network's bridge; its address is where a guest
// on the lab network reaches the host.
const labBridge = "vcbr0"

// TestLabNetwork runs the transport against the WS-Management server
// bound on the lab bridge's address inside the lab's network namespace:
// pinned HTTPS, an upload, commands across shell recycling, a cancelled
// command, a mismatched certificate and wrong credentials. Run it with
//
//	flock /tmp/virtcert-lab.lock fixtures/lab/lab exec -- env VIRTCERT_E2E=1 go test -count=1 ./guests/transport/winrm/labtest/
func TestLabNetwork(t *testing.T) {
	if os.Getenv("VIRTCERT_E2E") != "1" {
		t.Skip("VIRTCERT_E2E unset: a lab test, run inside fixtures/lab/lab exec (see the comment)")
	}
	ip := bridgeAddr(t)
	tm, err := wsman.NewTLSMaterial(ip)
	if err != nil {
		t.Fatal(err)
	}
	g := winguest.New()
	run, err := wsman.Start(wsman.Config{Backend: g, Users: map[string]string{"Administrator": "Lab-Pa55!"}, TLS: tm,
		Addr: net.JoinHostPort(ip, "0"), MaxShellLifetimeCommands: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	if run.Host != ip {
		t.Fatalf("server on %s, want %s", run.Host, ip)
	}
	s := &labServer{guest: g, pin: winrm.CertFingerprint(tm.ServerCertDER), addr: net.JoinHostPort(run.Host, fmt.Sprint(run.Port))}
	cfg := s.config()
	cfg.RecycleAfter = 1000 // recycle on the quota fault
	ctx := context.Background()
	c, err := winrm.Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Run("commands", func(t *testing.T) { runNumbered(t, c, 300) })
	t.Run("upload", func(t *testing.T) { roundTrip(t, c, `C:\lab.bin`, 8<<20) })
	t.Run("cancel", func(t *testing.T) {
		_, err := c.Run(ctx, transport.Command{Cmd: "Start-Sleep -Seconds 60", Timeout: 300 * time.Millisecond})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for _, term := s.guest.Counts(); term != 1; _, term = s.guest.Counts() {
			if time.Now().After(deadline) {
				t.Fatal("the guest never saw the terminate")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	t.Run("mismatched-certificate", func(t *testing.T) {
		other, _ := wsman.NewTLSMaterial()
		bad := s.config()
		bad.CertSHA256 = winrm.CertFingerprint(other.ServerCertDER)
		_, err := winrm.Dial(ctx, bad)
		if drivers.ClassOf(err) != drivers.ClassSecurity {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("wrong-credentials", func(t *testing.T) { refusesWrongPassword(t, s.config()) })
}

type labServer struct {
	guest     *winguest.Guest
	pin, addr string
}

func (s *labServer) config() winrm.Config {
	return winrm.Config{Addr: s.addr, User: "Administrator", Password: "Lab-Pa55!", CertSHA256: s.pin}
}

// runNumbered runs n commands that each print their number and exit with
// it modulo 5, over at least two shell recycles (quota faults).
func runNumbered(t *testing.T, c *winrm.Client, n int) {
	t.Helper()
	for i := range n {
		r, err := c.Run(context.Background(), transport.Command{Cmd: fmt.Sprintf("Write-Output 'n%d';exit %d", i, i%5)})
		if err != nil || r.Exit != i%5 || string(r.Stdout) != fmt.Sprintf("n%d\r\n", i) {
			t.Fatalf("command %d: exit %d stdout %q err %v", i, r.Exit, r.Stdout, err)
		}
	}
	if st := c.Stats(); st.QuotaRetries < 2 {
		t.Fatalf("stats %+v: want shells recycled on quota faults", st)
	}
}

// roundTrip uploads size random bytes to path and downloads them again.
func roundTrip(t *testing.T, c *winrm.Client, path string, size int) {
	t.Helper()
	ctx := context.Background()
	data := make([]byte, size)
	_, _ = rand.Read(data)
	if err := c.Upload(ctx, path, bytes.NewReader(data), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := c.Download(ctx, path, &out); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("round trip: %v, equal %v", err, bytes.Equal(out.Bytes(), data))
	}
}

// refusesWrongPassword dials cfg with a wrong password: an AuthError.
func refusesWrongPassword(t *testing.T, cfg winrm.Config) {
	t.Helper()
	cfg.Password = "nope"
	if _, err := winrm.Dial(context.Background(), cfg); !errors.As(err, new(*transport.AuthError)) {
		t.Fatalf("wrong password: %v", err)
	}
}

func bridgeAddr(t *testing.T) string {
	t.Helper()
	ifc, err := net.InterfaceByName(labBridge)
	if err != nil {
		t.Fatalf("lab bridge %s: %v (is the lab up?)", labBridge, err)
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	t.Fatalf("%s has no IPv4 address", labBridge)
	return ""
}
