package libvirt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/virtcert/virtcert/drivers"
)

// Guest is a domain created by Provision.
type Guest struct {
	h       *Host
	name    string
	label   string
	dom     golibvirt.Domain
	console golibvirt.StorageVol

	ownerMu sync.Mutex // AttachDisk appends to the owner record
	owner   ownerRef

	// ProvisionTime is the time from the Provision call until the domain
	// was running; StartTime is the DomainCreate part of it.
	ProvisionTime time.Duration
	StartTime     time.Duration
}

var (
	_ drivers.Guest         = (*Guest)(nil)
	_ drivers.DiskHotplug   = (*Guest)(nil)
	_ drivers.LinkControl   = (*Guest)(nil)
	_ drivers.NICHotplug    = (*Guest)(nil)
	_ drivers.SaveRestore   = (*Guest)(nil)
	_ drivers.PauseResume   = (*Guest)(nil)
	_ drivers.GuestClock    = (*Guest)(nil)
	_ drivers.GuestTimeSync = (*Guest)(nil)
	_ drivers.MACs          = (*Guest)(nil)
	_ drivers.RunningConfig = (*Guest)(nil)
)

// Name is the domain name.
func (g *Guest) Name() string { return g.name }

// RunLabel is the run label the guest carries.
func (g *Guest) RunLabel() string { return g.label }

func (g *Guest) op(what string) string { return what + " " + g.name }

// leasePoll is the pause between lease lookups: a lookup is one RPC that
// reads dnsmasq's lease file, cheap enough to make four times a second,
// and a readiness wait should not lose most of a second after the lease
// was granted.
const leasePoll = 250 * time.Millisecond

// agentAfter is how long lease lookups run alone before the guest agent
// is asked too; then it is asked every agentEvery.
const agentAfter, agentEvery = 15 * time.Second, 5 * time.Second

// Address waits for an IPv4 address: first the DHCP leases of the
// libvirt network, then the QEMU guest agent. It fails early when the
// domain stops running.
func (g *Guest) Address(ctx context.Context) (string, error) {
	var leaseNote, agentNote string
	start, nextAgent := time.Now(), agentAfter
	for {
		st, err := g.State(ctx)
		if err != nil {
			return "", err
		}
		if st != drivers.StateRunning {
			return "", drivers.Errorf(drivers.ClassGuest, g.op("address"), "domain is %s, not running; it cannot get an address", st)
		}
		addr, err := g.addrFrom(ctx, golibvirt.DomainInterfaceAddressesSrcLease)
		switch {
		case err != nil && ctx.Err() != nil:
			return "", g.noAddress(ctx, leaseNote, agentNote)
		case err != nil:
			leaseNote = err.Error()
		case addr != "":
			return addr, nil
		default:
			leaseNote = "no lease for the guest's MAC yet"
		}
		// The agent needs a booted guest with qemu-guest-agent. Leases
		// answer first on a libvirt network, so the agent is asked only
		// after a while and then every few rounds: each failed agent call
		// is an error line in libvirtd's log, and keeps libvirtd's agent
		// code busy on guests that have none.
		if time.Since(start) >= nextAgent {
			addr, err := g.addrFrom(ctx, golibvirt.DomainInterfaceAddressesSrcAgent)
			// From the answer: an agent that takes its full timeout to
			// fail is not asked again at the next lease poll.
			nextAgent = time.Since(start) + agentEvery
			switch {
			case err != nil && ctx.Err() != nil:
				return "", g.noAddress(ctx, leaseNote, agentNote)
			case err != nil:
				agentNote = err.Error()
			case addr != "":
				return addr, nil
			default:
				agentNote = "the agent reports no IPv4 address"
			}
		}
		select {
		case <-ctx.Done():
			return "", g.noAddress(ctx, leaseNote, agentNote)
		case <-time.After(leasePoll):
		}
	}
}

func (g *Guest) noAddress(ctx context.Context, lease, agent string) error {
	if lease == "" {
		lease = "not asked yet"
	}
	if agent == "" {
		agent = "not asked yet"
	}
	class := drivers.ClassGuest
	if errors.Is(ctx.Err(), context.Canceled) {
		class = drivers.ClassHost
	}
	return drivers.Errorf(class, g.op("address"), "no IPv4 address (%v); tried DHCP leases of network %q: %s; QEMU guest agent: %s",
		ctx.Err(), g.h.network, lease, agent)
}

func (g *Guest) addrFrom(ctx context.Context, src golibvirt.DomainInterfaceAddressesSource) (string, error) {
	ifs, err := do(ctx, g.h.c, g.op("address"), func(l *golibvirt.Libvirt) ([]golibvirt.DomainInterface, error) {
		return l.DomainInterfaceAddresses(g.dom, uint32(src), 0)
	})
	if err != nil {
		return "", err
	}
	for _, itf := range ifs {
		for _, a := range itf.Addrs {
			ip := net.ParseIP(a.Addr)
			if a.Type == int32(golibvirt.IPAddrTypeIpv4) && ip != nil && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() {
				return ip.String(), nil
			}
		}
	}
	return "", nil
}

// State maps libvirt's domain state to ours.
func (g *Guest) State(ctx context.Context) (drivers.PowerState, error) {
	type st struct {
		state int32
		saved int32
	}
	s, err := do(ctx, g.h.c, g.op("state"), func(l *golibvirt.Libvirt) (st, error) {
		state, _, err := l.DomainGetState(g.dom, 0)
		if err != nil {
			return st{}, err
		}
		var saved int32
		if golibvirt.DomainState(state) == golibvirt.DomainShutoff {
			saved, err = l.DomainHasManagedSaveImage(g.dom, 0)
		}
		return st{state, saved}, err
	})
	if err != nil {
		if isNoDomain(errors.Unwrap(err)) || isNoDomain(err) {
			return drivers.StateNotFound, nil
		}
		return drivers.StateUnknown, err
	}
	switch golibvirt.DomainState(s.state) {
	case golibvirt.DomainRunning, golibvirt.DomainBlocked, golibvirt.DomainShutdown:
		return drivers.StateRunning, nil
	case golibvirt.DomainPaused, golibvirt.DomainPmsuspended:
		return drivers.StatePaused, nil
	case golibvirt.DomainShutoff:
		if s.saved == 1 {
			return drivers.StateSaved, nil
		}
		return drivers.StateOff, nil
	case golibvirt.DomainCrashed:
		return drivers.StateCrashed, nil
	}
	return drivers.StateUnknown, nil
}

// waitState polls until the domain reaches want or ctx ends.
func (g *Guest) waitState(ctx context.Context, op string, want ...drivers.PowerState) error {
	var last drivers.PowerState
	for {
		st, err := g.State(ctx)
		if err == nil {
			last = st
			for _, w := range want {
				if st == w {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return drivers.Errorf(drivers.ClassGuest, g.op(op), "domain still %s, wanted %v: %w", last, want, ctx.Err())
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// Power performs op. PowerShutdown sends an ACPI power-button event and
// waits for the guest to stop (a guest that ignores it fails with a
// ClassGuest error when ctx ends).
func (g *Guest) Power(ctx context.Context, op drivers.PowerOp) error {
	o := g.op("power " + string(op))
	ignoreInvalid := func(err error) error {
		// "domain is not running" / "already running": the wanted state
		// is already there.
		if libvirtCode(err) == golibvirt.ErrOperationInvalid {
			return nil
		}
		return err
	}
	switch op {
	case drivers.PowerStart:
		return do0(ctx, g.h.c, o, func(l *golibvirt.Libvirt) error { return ignoreInvalid(l.DomainCreate(g.dom)) })
	case drivers.PowerShutdown:
		return g.shutdown(ctx, o)
	case drivers.PowerOff:
		return do0(ctx, g.h.c, o, func(l *golibvirt.Libvirt) error { return ignoreInvalid(l.DomainDestroyFlags(g.dom, 0)) })
	case drivers.PowerReboot:
		return do0(ctx, g.h.c, o, func(l *golibvirt.Libvirt) error { return l.DomainReboot(g.dom, 0) })
	case drivers.PowerReset:
		return do0(ctx, g.h.c, o, func(l *golibvirt.Libvirt) error { return l.DomainReset(g.dom, 0) })
	}
	return drivers.Errorf(drivers.ClassInput, o, "unknown power operation %q", op)
}

// shutdownResend is how often the ACPI power button is pressed again
// while waiting: a press before the guest's handler runs (early boot,
// systemd-logind not up yet) is lost, not queued.
const shutdownResend = 10 * time.Second

// shutdown presses the ACPI power button until the domain is off or ctx
// ends.
func (g *Guest) shutdown(ctx context.Context, op string) error {
	for {
		err := do0(ctx, g.h.c, op, func(l *golibvirt.Libvirt) error {
			err := l.DomainShutdownFlags(g.dom, golibvirt.DomainShutdownAcpiPowerBtn)
			if libvirtCode(err) == golibvirt.ErrOperationInvalid {
				return nil // not running: the wait below sees it
			}
			return err
		})
		if err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, shutdownResend)
		err = g.waitState(wctx, "power shutdown", drivers.StateOff, drivers.StateNotFound)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return drivers.Errorf(drivers.ClassGuest, op, "the guest did not power off after ACPI power button presses every %s: %w", shutdownResend, ctx.Err())
		}
	}
}

// Console returns the serial console output so far, read through the
// storage API from the console volume.
func (g *Guest) Console(ctx context.Context) ([]byte, error) {
	b, err := g.h.download(ctx, g.console)
	if err != nil {
		return nil, drivers.Wrap(drivers.ClassHost, g.op("console"), err)
	}
	return b, nil
}

// Destroy stops the guest (ACPI shutdown, then destroy after grace),
// undefines it and deletes all its volumes. It is idempotent.
func (g *Guest) Destroy(ctx context.Context, grace time.Duration) error {
	st, err := g.State(ctx)
	if err != nil {
		return err
	}
	if st == drivers.StateRunning && grace > 0 {
		gctx, cancel := context.WithTimeout(ctx, grace)
		_ = g.shutdown(gctx, g.op("destroy: shutdown"))
		cancel()
	}
	if err := ctx.Err(); err != nil {
		return drivers.Errorf(drivers.ClassHost, g.op("destroy"), "%w", err)
	}
	if st != drivers.StateNotFound {
		if err := g.h.undefine(ctx, g.dom); err != nil {
			return err
		}
	}
	if _, err := g.h.deleteGuestVolumes(ctx, g.label, g.name); err != nil {
		return err
	}
	return nil
}

// liveXML returns the running definition of the domain.
func (g *Guest) liveXML(ctx context.Context, op string) (string, error) {
	return do(ctx, g.h.c, g.op(op), func(l *golibvirt.Libvirt) (string, error) {
		return l.DomainGetXMLDesc(g.dom, 0)
	})
}

// MACs lists the MAC addresses of the NICs, in order.
func (g *Guest) MACs(ctx context.Context) ([]string, error) {
	x, err := g.liveXML(ctx, "macs")
	if err != nil {
		return nil, err
	}
	d, err := unmarshalDomain(x)
	if err != nil {
		return nil, drivers.Wrap(drivers.ClassHost, g.op("macs"), err)
	}
	var macs []string
	if d.Devices != nil {
		for _, nic := range d.Devices.Interfaces {
			if nic.MAC != nil {
				macs = append(macs, strings.ToLower(nic.MAC.Address))
			}
		}
	}
	return macs, nil
}

// RunningConfig reports the live domain's memory, vCPUs and NIC models.
func (g *Guest) RunningConfig(ctx context.Context) (drivers.GuestConfig, error) {
	d, err := g.liveDomain(ctx, "running config")
	if err != nil {
		return drivers.GuestConfig{}, err
	}
	return runningConfig(d), nil
}

func (g *Guest) String() string { return fmt.Sprintf("libvirt guest %s (run %s)", g.name, g.label) }
