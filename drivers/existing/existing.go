// Package existing is the host driver for a machine that already runs
// (the VM that shows the bug): it is reached by address, and nothing is
// ever created, changed or destroyed on it.
//
// URI: "ssh://user@host:port", "host:port" or just "host" (IPv6 in
// brackets). Provision returns a Guest whose Address is that host (with
// ":port" when a port other than 22 was given); Destroy and Sweep do
// nothing and say so in the log; Console and Power return
// drivers.ErrUnsupported. Info reports Nature "real" and Hypervisor
// "unknown": the checks detect the hypervisor from inside the guest.
package existing

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/virtcert/virtcert/drivers"
)

// Host is an existing machine.
type Host struct {
	host string // hostname or IP, no brackets
	port int
	user string
	log  *slog.Logger
}

var (
	_ drivers.Host   = (*Host)(nil)
	_ drivers.Opener = Open
)

// Open parses uri. It does not dial: Address does, under its context.
func Open(ctx context.Context, uri string, opts drivers.OpenOptions) (drivers.Host, error) {
	h, err := parse(uri)
	if err != nil {
		return nil, drivers.Wrap(drivers.ClassInput, "existing URI", err)
	}
	for k := range opts.Extra {
		return nil, drivers.Errorf(drivers.ClassInput, "existing options", "unknown option %q (the existing driver takes none)", k)
	}
	if h.user == "" {
		h.user = opts.Username
	}
	if err := ctx.Err(); err != nil {
		return nil, drivers.Errorf(drivers.ClassHost, "existing open", "%w", err)
	}
	h.log = slog.Default()
	return h, nil
}

func parse(uri string) (*Host, error) {
	s := strings.TrimSpace(uri)
	if s == "" {
		return nil, fmt.Errorf("empty address")
	}
	if drivers.URIHasPassword(s) {
		return nil, fmt.Errorf("%s", drivers.URIPasswordMessage)
	}
	h := &Host{port: 22}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("cannot parse %q: %v", s, drivers.URLParseCause(err))
		}
		if u.Scheme != "ssh" {
			return nil, fmt.Errorf("%q: scheme %q; want ssh://user@host:port, host:port or host", s, u.Scheme)
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("%q: only ssh://user@host:port is understood (no path or query)", s)
		}
		h.user = u.User.Username()
		h.host = u.Hostname()
		if p := u.Port(); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				return nil, fmt.Errorf("%q: bad port %q", s, p)
			}
			h.port = n
		}
	} else if hp, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q: bad port %q", s, p)
		}
		h.host, h.port = hp, n
	} else {
		h.host = strings.Trim(s, "[]")
	}
	if h.host == "" {
		return nil, fmt.Errorf("%q: no host", s)
	}
	if strings.ContainsAny(h.host, " /@?#") {
		return nil, fmt.Errorf("%q: %q is not a host name or address", s, h.host)
	}
	return h, nil
}

// Address is host, or host:port for a port other than 22.
func (h *Host) address() string {
	if h.port == 22 {
		return h.host
	}
	return net.JoinHostPort(h.host, strconv.Itoa(h.port))
}

// User is the login user named in the URI (or OpenOptions.Username).
func (h *Host) User() string { return h.user }

// Info describes what little is known from outside.
func (h *Host) Info(ctx context.Context) (drivers.HostInfo, error) {
	return drivers.HostInfo{
		Driver:     "existing",
		Hypervisor: "unknown",
		Name:       h.host,
		Nature:     drivers.NatureReal,
		Notes: []string{"an existing machine reached by address: the hypervisor is not known to the driver (the checks detect it from inside the guest); " +
			"nothing is provisioned, powered or destroyed"},
	}, nil
}

// Provision creates nothing: it returns the existing machine.
func (h *Host) Provision(ctx context.Context, spec drivers.GuestSpec) (drivers.Guest, error) {
	if err := ctx.Err(); err != nil {
		return nil, drivers.Errorf(drivers.ClassHost, "existing provision", "%w", err)
	}
	name := spec.Name
	if name == "" {
		name = h.host
	}
	return &Guest{h: h, name: name}, nil
}

// Sweep does nothing: this driver never creates anything.
func (h *Host) Sweep(ctx context.Context, sel drivers.SweepSelector) ([]drivers.Resource, error) {
	h.log.Info("existing driver: sweep has nothing to do, nothing was created", "host", h.host)
	return nil, nil
}

// Close does nothing.
func (h *Host) Close() error { return nil }

// Guest is the existing machine.
type Guest struct {
	h    *Host
	name string
}

// Name is the spec name (or the host).
func (g *Guest) Name() string { return g.name }

// Address checks that the SSH port answers, then returns the address.
func (g *Guest) Address(ctx context.Context) (string, error) {
	addr := net.JoinHostPort(g.h.host, strconv.Itoa(g.h.port))
	var last error
	for {
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := d.DialContext(dctx, "tcp", addr)
		cancel()
		if err == nil {
			c.Close()
			return g.h.address(), nil
		}
		last = err
		select {
		case <-ctx.Done():
			return "", drivers.Errorf(drivers.ClassGuest, "existing address", "%s does not answer on TCP port %d: %v", g.h.host, g.h.port, last)
		case <-time.After(time.Second):
		}
	}
}

// Power is not done to a machine we do not own.
func (g *Guest) Power(ctx context.Context, op drivers.PowerOp) error {
	return fmt.Errorf("existing machine %s: power %s: %w", g.h.host, op, drivers.ErrUnsupported)
}

// State is unknown from outside (StateUnknown, no error).
func (g *Guest) State(ctx context.Context) (drivers.PowerState, error) {
	return drivers.StateUnknown, nil
}

// Console is not reachable.
func (g *Guest) Console(ctx context.Context) ([]byte, error) {
	return nil, fmt.Errorf("existing machine %s: console: %w", g.h.host, drivers.ErrUnsupported)
}

// Destroy does nothing: the machine is not ours.
func (g *Guest) Destroy(ctx context.Context, grace time.Duration) error {
	g.h.log.Debug("existing driver: destroy leaves the machine alone, it was not created by virtcert", "host", g.h.host)
	return nil
}
