package hyperv_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/drivers/hyperv"
	"github.com/virtcert/virtcert/fixtures/wsman"
)

// slowBackend hangs on "hang" until the server cancels the command, and
// echoes anything else.
type slowBackend struct{ cancelled chan struct{} }

func (b *slowBackend) Exec(ctx context.Context, c wsman.Command, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if c.CommandLine() == "hang" {
		<-ctx.Done()
		close(b.cancelled)
		return 1, nil
	}
	_, _ = io.WriteString(stdout, "ran: "+c.CommandLine())
	return 0, nil
}

// TestWinRMDeadline: the library ignores contexts, so the executor must
// return at our deadline, stop the command on the host (shell deleted),
// and work again on a fresh shell.
func TestWinRMDeadline(t *testing.T) {
	be := &slowBackend{cancelled: make(chan struct{})}
	tm, err := wsman.NewTLSMaterial()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := wsman.Start(wsman.Config{Backend: be, Users: map[string]string{"u": "pw-123"}, TLS: tm})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ca, err := srv.WriteCAFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ex, err := hyperv.DialWinRM(ctx, srv.URL, drivers.OpenOptions{Username: "u", Password: "pw-123", CACertFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = ex.Exec(short, "hang")
	if err == nil || drivers.ClassOf(err) != drivers.ClassHost || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("hang: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("returned after %s", d)
	}
	select {
	case <-be.cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the abandoned command still runs on the host")
	}
	// One shell serves many more commands than the host's per-shell quota
	// (wsman.DefaultMaxCommandsPerShell, 100): finished commands are
	// released.
	for i := 0; i < 130; i++ {
		out, err := ex.Exec(ctx, "echo ok")
		if err != nil || out.Exit != 0 || string(out.Stdout) != "ran: echo ok" {
			t.Fatalf("command %d: %+v %v", i, out, err)
		}
	}
	if n := srv.Server.ShellCount(); n != 1 {
		t.Fatalf("%d shells open, want the one reused", n)
	}
}
