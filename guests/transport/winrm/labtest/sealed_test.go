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

	"github.com/virtcert/virtcert/fixtures/winguest"
	"github.com/virtcert/virtcert/fixtures/wsman"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/guests/transport/winrm"
)

// TestLabNetworkSealedHTTP runs the transport over plain HTTP on the lab
// bridge, against the stand-in with Windows' default
// AllowUnencrypted=false: every message NTLM-sealed, commands across a
// shell recycle, a file both ways, and wrong credentials. Run it with
//
//	flock /tmp/virtcert-lab.lock fixtures/lab/lab exec -- env VIRTCERT_E2E=1 go test -count=1 -run SealedHTTP ./guests/transport/winrm/labtest/
func TestLabNetworkSealedHTTP(t *testing.T) {
	if os.Getenv("VIRTCERT_E2E") != "1" {
		t.Skip("VIRTCERT_E2E unset: a lab test, run inside fixtures/lab/lab exec (see the comment)")
	}
	ip := bridgeAddr(t)
	g := winguest.New()
	run, err := wsman.Start(wsman.Config{Backend: g, Users: map[string]string{"Administrator": "Lab-Pa55!"}, HTTP: true,
		Addr: net.JoinHostPort(ip, "0"), MaxShellLifetimeCommands: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	cfg := winrm.Config{Addr: net.JoinHostPort(run.Host, fmt.Sprint(run.Port)), User: "Administrator", Password: "Lab-Pa55!", HTTP: true, RecycleAfter: 1000}
	ctx := context.Background()
	c, err := winrm.Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 50 {
		r, err := c.Run(ctx, transport.Command{Cmd: fmt.Sprintf("Write-Output 'n%d';exit %d", i, i%5)})
		if err != nil || r.Exit != i%5 || string(r.Stdout) != fmt.Sprintf("n%d\r\n", i) {
			t.Fatalf("command %d: exit %d stdout %q err %v", i, r.Exit, r.Stdout, err)
		}
	}
	if st := c.Stats(); st.QuotaRetries < 2 {
		t.Fatalf("stats %+v: want shells recycled on quota faults", st)
	}
	data := make([]byte, 1<<20)
	_, _ = rand.Read(data)
	if err := c.Upload(ctx, `C:\sealed.bin`, bytes.NewReader(data), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := c.Download(ctx, `C:\sealed.bin`, &out); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("round trip: %v, equal %v", err, bytes.Equal(out.Bytes(), data))
	}
	bad := cfg
	bad.Password = "nope"
	if _, err := winrm.Dial(ctx, bad); !errors.As(err, new(*transport.AuthError)) {
		t.Fatalf("wrong password: %v", err)
	}
}
