package runner

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests"
	"github.com/virtcert/virtcert/guests/seed"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/progress"
	"github.com/virtcert/virtcert/resolve"
)

// guestReq is one guest to provision: on which host, from which image,
// for which target (suffix "-peer" for its peer).
type guestReq struct {
	h      drivers.Host
	hp     *plan.Host
	img    *plan.Image
	rt     *resolve.Target
	suffix string
}

// imageName is the plan's name of the guest's image (the peer's own
// for a peer from the plan's peer: HOST/IMAGE).
func (q guestReq) imageName() string {
	if q.suffix != "" && q.rt.Peer != nil && q.rt.Peer.ImageSpec == q.img {
		return q.rt.Peer.Image
	}
	return q.rt.Image
}

// transport is how the guest is reached: the target's transport, or for
// a peer of another image (peer: HOST/IMAGE) what its own OS and host
// driver decide (a Linux peer of a Windows target answers SSH, not
// WinRM).
func (q guestReq) transport() string {
	if q.img == q.rt.ImageSpec {
		return q.rt.Transport
	}
	reg, _ := drivers.Lookup(q.hp.Driver)
	return resolve.TransportFor(q.img.OS, reg.Transport)
}

// provision creates one guest, waits for its address and for it to
// answer, and uploads the helper. Each created resource pushes its
// cleanup. The error is classified (statusOf decides its verdict); the
// session is returned with it once a guest exists (for its console).
func (r *runner) provision(ctx context.Context, q guestReq, cleanups *[]func()) (*session, error) {
	name := r.guestName(q.rt.Host, q.rt.Image, q.suffix)
	s := &session{log: r.log, ready: r.rr.Timeouts.Ready.D(), kind: q.transport(), guestOS: q.img.OS, image: q.imageName()}
	var err error
	if s.dial, err = r.dialer(s.kind); err != nil {
		return nil, err
	}
	if err := r.access(q, name, s); err != nil {
		return nil, err
	}
	s.askOther = r.opt.Dial == nil || s.access.Dial != nil
	id := q.rt.ID
	r.progress(id, "provisioning %s", name)
	if err := r.create(ctx, q.h, s, id, cleanups); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, r.rr.Timeouts.Ready.D())
	defer cancel()
	if q.suffix == "" {
		// The peer boots alongside: the phase shown is the target's.
		r.opt.Sink.Target(id).Phase(progress.Readiness)
	}
	if err := r.address(ctx, rctx, s, id, q.img.Port); err != nil {
		return s, err
	}
	if u, ok := q.h.(interface{ User() string }); ok && u.User() != "" {
		// The existing driver's URI (ssh://user@host) names the account
		// on that machine; it wins over the image's default user.
		s.access.User = u.User()
	}
	if err := s.connect(ctx, rctx); err != nil {
		if ctx.Err() != nil {
			return s, hostFault("connect", ctx.Err())
		}
		return s, err
	}
	*cleanups = append(*cleanups, s.close)
	return s, nil
}

// access sets the guest's spec and how to log in: a provisioned guest
// gets a fresh host key and our client key through its seed; a machine
// that already runs brings its pinned host key (and maybe our key) in
// the plan.
func (r *runner) access(q guestReq, name string, s *session) error {
	img := q.img
	s.access = transport.Access{User: img.User, Key: r.client}
	if q.h != nil {
		s.access.Dial = drivers.GuestDialerOf(q.h)
	}
	var sd []byte
	if q.h != nil && !drivers.Provisions(q.h) {
		if err := r.existingAccess(q, s); err != nil {
			return err
		}
	} else if img.OS == "windows" {
		var err error
		if sd, err = windowsAccess(name, img.User, r.keyDir, s); err != nil {
			return err
		}
	} else {
		hk, err := guests.NewHostKey(name)
		if err != nil {
			return hostFault("host key", err)
		}
		s.access.HostKey = guests.AuthorizedLine(hk.PublicKey())
		if sd, err = buildSeed(name, img.User, r.client, hk, q.hp, r.keyDir); err != nil {
			return drivers.Wrap(drivers.ClassInput, "seed", err)
		}
	}
	s.spec = drivers.GuestSpec{Name: name, RunLabel: r.label, MemoryMB: img.MemoryMB, CPUs: img.CPUs, Seed: sd,
		NICModel: img.NICModel, DiskBus: img.DiskBus,
		Image: drivers.Image{Path: img.Path, Format: img.Format, OS: img.OS, Kernel: img.Kernel, Initrd: img.Initrd, Cmdline: img.Cmdline, Firmware: img.Firmware, RTC: img.RTC}}
	if img.Address != "" {
		s.spec.Extra = map[string]string{"address": img.Address}
		if img.Port != 0 {
			s.spec.Extra["port"] = strconv.Itoa(img.Port)
		}
	}
	return nil
}

// windowsAccess gives a provisioned Windows guest a fresh admin password
// and WinRM certificate, pins the certificate, and returns the
// cloudbase-init config drive that carries them. Neither the password
// nor the key is ever logged: both reach only the seed and the
// transport; the drive is staged in stageDir, the run's private key
// directory.
func windowsAccess(name, user, stageDir string, s *session) ([]byte, error) {
	host := seed.WindowsHostname(name)
	cert, err := guests.NewWinRMCert(host)
	if err != nil {
		return nil, hostFault("winrm certificate", err)
	}
	pw, err := guests.NewAdminPassword()
	if err != nil {
		return nil, hostFault("admin password", err)
	}
	s.access.HostKey, s.access.Password, s.access.Key = cert.Pin(), pw, nil
	sd, err := seed.BuildWindows(seed.Windows{InstanceID: name, Hostname: host, User: user, Password: pw, Cert: cert, StageDir: stageDir})
	if err != nil {
		return nil, drivers.Wrap(drivers.ClassInput, "seed", err)
	}
	return sd, nil
}

// existingAccess reads the login of a machine that already runs from the
// plan: our key (key_file) and its pinned host key (always pinned).
func (r *runner) existingAccess(q guestReq, s *session) error {
	img := q.img
	if img.KeyFile != "" {
		k, err := guests.LoadClientKey(img.KeyFile)
		if err != nil {
			return drivers.Wrap(drivers.ClassInput, "key_file", err)
		}
		s.access.Key = k
	}
	var hk []byte
	switch {
	case img.HostKey != "":
		hk = []byte(img.HostKey)
	case img.HostKeyFile != "":
		b, err := os.ReadFile(img.HostKeyFile)
		if err != nil {
			return drivers.Wrap(drivers.ClassInput, "host_key_file", err)
		}
		hk = b
	default:
		return drivers.Errorf(drivers.ClassInput, "image "+q.rt.Image, "the existing driver needs host_key or host_key_file (host keys are always pinned)")
	}
	line, err := guests.PinnedHostKey(hk)
	if err != nil {
		return drivers.Wrap(drivers.ClassInput, "image "+q.rt.Image+" host key", err)
	}
	s.access.HostKey = line
	return nil
}

// create provisions the guest (transient host failures retried) and
// registers its destroy.
func (r *runner) create(ctx context.Context, h drivers.Host, s *session, id string, cleanups *[]func()) error {
	retries, err := retry(ctx, 2, func(ctx context.Context) error {
		pctx, cancel := context.WithTimeout(ctx, r.rr.Timeouts.Provision.D())
		defer cancel()
		var err error
		s.g, err = h.Provision(pctx, s.spec)
		return err
	})
	if err != nil {
		return hostFault("provision "+s.spec.Name, err)
	}
	if retries > 0 {
		r.progress(id, "provisioning succeeded after %d retr(ies)", retries)
		s.retries = retries
	}
	*cleanups = append(*cleanups, func() { r.destroy(ctx, s.g, id) })
	return nil
}

// destroy removes a guest, bounded even when the run was cancelled
// (Ctrl-C must still remove it); a failure is a leftover for sweep.
func (r *runner) destroy(ctx context.Context, g drivers.Guest, id string) {
	grace := r.rr.Timeouts.Destroy.D()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace+60*time.Second)
	defer cancel()
	n, err := retryHost(dctx, func(ctx context.Context) error { return g.Destroy(ctx, grace) })
	if n > 0 {
		r.progress(id, "destroy %s: host did not answer, %d retr(ies)", g.Name(), n)
	}
	if err != nil {
		r.progress(id, "destroy %s failed: %s (virtcert sweep --run %s removes it)", g.Name(), reports.Clean(err.Error()), r.label)
		r.outMu.Lock()
		r.out.Leftovers = append(r.out.Leftovers, g.Name())
		r.outMu.Unlock()
		return
	}
	r.progress(id, "destroyed %s", g.Name())
}

// address waits for the guest's address within rctx (host errors
// retried). No address in time is the guest's fault unless the host
// kept failing.
func (r *runner) address(ctx, rctx context.Context, s *session, id string, port int) error {
	name := s.spec.Name
	var addr string
	n, err := retryHost(rctx, func(ctx context.Context) error {
		var err error
		addr, err = s.g.Address(ctx)
		return err
	})
	if n > 0 {
		r.progress(id, "address of %s: host did not answer, %d retr(ies)", name, n)
		s.retries += n
	}
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return hostFault("address", ctx.Err())
	case drivers.ClassOf(err) == drivers.ClassHost && (rctx.Err() == nil || n > 0):
		return hostFault("address of "+name, err)
	default:
		return guestFault("guest "+name+" never got an address", err)
	}
	if port != 0 && !strings.Contains(addr, ":") {
		addr = net.JoinHostPort(addr, strconv.Itoa(port))
	}
	s.addr = addr
	return nil
}
