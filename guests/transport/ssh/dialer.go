package ssh

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/virtcert/virtcert/guests/transport"
)

// ReadyProbe is the readiness probe on Linux guests: a real command that
// also waits for cloud-init to finish where cloud-init is installed (so
// checks do not race the guest's first-boot configuration).
const ReadyProbe = "test -f /run/cloud-init/result.json || ! command -v cloud-init >/dev/null 2>&1"

func init() { transport.RegisterDialer("ssh", DialReady) }

// DialReady is the "ssh" transport.Dialer: two-phase readiness (TCP,
// then the handshake with the pinned host key and ReadyProbe).
func DialReady(ctx context.Context, addr string, a transport.Access) (transport.Transport, string, error) {
	hk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(a.HostKey))
	if err != nil {
		return nil, "", fmt.Errorf("pinned host key: %w", err)
	}
	if a.Key == nil {
		return nil, "", errors.New("no client key")
	}
	cfg := Config{Addr: addr, User: a.User, Signer: a.Key.Signer, HostKey: hk, HandshakeTimeout: 20 * time.Second, Dial: a.Dial}
	c, st, err := WaitReady(ctx, cfg, ReadyProbe, ReadyOptions{})
	detail := fmt.Sprintf("tcp %d attempt(s) in %s, ssh %d handshake(s) and %d probe(s) in %s",
		st.TCPAttempts, st.TCPTime.Round(time.Millisecond), st.HandshakeAttempts, st.ProbeAttempts, st.SSHTime.Round(time.Millisecond))
	if err != nil {
		return nil, detail, err
	}
	return c, detail, nil
}
