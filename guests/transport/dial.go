package transport

import (
	"context"
	"sort"
	"sync"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests"
)

// Access is how the harness logs in to one guest: the login, the run's
// client key, and the guest's pinned identity (for SSH an authorized_keys
// line of its host key). An identity is always pinned, never trusted on
// first use.
type Access struct {
	User    string
	Key     *guests.ClientKey
	HostKey string
	// Password is the guest's admin password, for transports that log
	// in with one (WinRM, where HostKey is the pinned TLS certificate's
	// "sha256:<hex>"). It is a Secret: never logged or written.
	Password drivers.Secret
	// Dial, when set, opens the connection to the guest (through its
	// host: an SSH jump); nil dials directly from the controller.
	Dial drivers.DialFunc
}

// Dialer connects to the guest at addr and returns a ready transport: it
// waits within ctx until the guest answers a real probe, verifying the
// pinned identity (a mismatch is a *HostKeyError). detail says what
// readiness cost, for messages and reports.
type Dialer func(ctx context.Context, addr string, a Access) (x Transport, detail string, err error)

var (
	dialMu  sync.Mutex
	dialers = map[string]Dialer{}
)

// RegisterDialer adds the dialer of a transport kind ("ssh"); each
// transport registers itself in its package's init. It panics on a
// duplicate: a programming error.
func RegisterDialer(kind string, d Dialer) {
	dialMu.Lock()
	defer dialMu.Unlock()
	if _, dup := dialers[kind]; dup || d == nil {
		panic("transport: duplicate or nil dialer " + kind)
	}
	dialers[kind] = d
}

// DialerFor returns the dialer of a transport kind.
func DialerFor(kind string) (Dialer, bool) {
	dialMu.Lock()
	defer dialMu.Unlock()
	d, ok := dialers[kind]
	return d, ok
}

// Kinds lists the registered transport kinds.
func Kinds() []string {
	dialMu.Lock()
	defer dialMu.Unlock()
	ks := make([]string, 0, len(dialers))
	for k := range dialers {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
