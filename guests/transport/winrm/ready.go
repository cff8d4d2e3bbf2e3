package winrm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/virtcert/virtcert/guests/transport"
)

// ReadyProbe is the readiness probe on Windows guests: a real command.
const ReadyProbe = "exit 0"

func init() { transport.RegisterDialer("winrm", DialReady) }

// DialReady is the "winrm" transport.Dialer: a.HostKey is the pinned
// certificate ("sha256:<hex>"), a.Password the admin password. It retries
// network failures with backoff until ctx ends; a pin mismatch or refused
// credentials stop at once.
func DialReady(ctx context.Context, addr string, a transport.Access) (transport.Transport, string, error) {
	cfg := Config{Addr: addr, User: a.User, Password: a.Password, CertSHA256: a.HostKey, Dial: a.Dial}
	start := time.Now()
	backoff := 250 * time.Millisecond
	var last error
	for attempt := 1; ; attempt++ {
		c, err := Dial(ctx, cfg)
		if err == nil {
			var r transport.Result
			if r, err = c.Run(ctx, transport.Command{Cmd: ReadyProbe, Timeout: 30 * time.Second}); err == nil && r.Exit == 0 {
				return c, fmt.Sprintf("winrm %d attempt(s) in %s", attempt, time.Since(start).Round(time.Millisecond)), nil
			}
			c.Close()
			if err == nil {
				err = fmt.Errorf("probe %q exited %d: %s", ReadyProbe, r.Exit, short(string(r.Stderr)))
			}
		}
		detail := fmt.Sprintf("winrm %d attempt(s) in %s", attempt, time.Since(start).Round(time.Millisecond))
		if !IsNetwork(err) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, detail, err
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, detail, fmt.Errorf("winrm %s not ready (%v): %w", addr, last, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 3*time.Second)
	}
}
