package labtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"

	"github.com/virtcert/virtcert/fixtures/winguest"
	"github.com/virtcert/virtcert/fixtures/wsman"
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
	runNumbered(t, c, 50)
	roundTrip(t, c, `C:\sealed.bin`, 1<<20)
	refusesWrongPassword(t, cfg)
}
