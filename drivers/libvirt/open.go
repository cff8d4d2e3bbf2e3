// Package libvirt is the virtcert host driver for libvirt/QEMU, built on
// the pure-Go RPC client github.com/digitalocean/go-libvirt and typed XML
// from libvirt.org/go/libvirtxml.
//
// URIs: qemu:///system (optionally ?socket=PATH, as the lab uses),
// qemu+ssh://[user@]host[:port]/system[?keyfile=..&known_hosts=..&socket=..]
// (our own SSH client, sshdial.go: the host key is always pinned),
// qemu+tcp://host[:port]/system and qemu+tls://host[:port]/system
// [?pkipath=DIR]. Secrets (an SSH password) come from OpenOptions, never
// from the URI.
//
// Options (OpenOptions.Extra): network (libvirt network, default
// "default"), pool (storage pool, default "default"), domain_type (force
// "kvm" or "qemu" instead of probing), probe_kernel (a kernel on the host
// used to probe kvm; default the newest /boot/vmlinuz-* on a local host).
//
// What the driver creates, per guest: a qcow2 overlay volume backed by the
// image (never a copy), the NoCloud seed uploaded as a volume, a console
// log volume the serial port writes to, and a persistent domain with the
// run label in its <metadata>. Volume names carry the run label too (see
// volPrefix), so Sweep finds volumes whose domain is already gone.
//
// The console is read through the storage API (StorageVolDownload), so it
// works the same on a remote host. virtlogd writes it and rotates it at
// its max_size (2 MiB by default): Console returns the current file only.
//
// Remote hosts: image, kernel and initrd paths are paths on that host
// (checked by libvirt there; on a local socket they are checked before
// anything is created). Guest addresses come from the host's libvirt
// network: the controller routes to them (guest_via: direct, the default),
// or, over qemu+ssh, with option guest_via: host, dials them through the
// host's SSH server (an SSH jump; no route to the guest network needed).
//
// Acceleration: Info boots a tiny transient kvm domain (the probe kernel,
// no disk) and waits for its kernel banner on the serial console; no
// banner within kvmProbeTimeout means TCG. The result is cached for the
// connection; the first Provision pays for it if Info was not called.
//
// Cancellation: go-libvirt has no contexts, so every RPC runs under our
// deadline (see conn). The RPCs that create something in Provision run to
// completion under their own bound instead, so that a cancel cannot leak
// a resource created after the rollback ran.
package libvirt

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket"
	"github.com/digitalocean/go-libvirt/socket/dialers"
	"libvirt.org/go/libvirtxml"

	"github.com/virtcert/virtcert/drivers"
)

const (
	dialTimeout  = 15 * time.Second
	closeTimeout = 3 * time.Second
)

// Host is a connection to one libvirt host.
type Host struct {
	c        *conn
	uri      string
	network  string
	pool     string
	forceTyp string
	probeKrn string
	local    bool
	guestVia string     // "direct" or "host" (option guest_via)
	jump     *sshDialer // the qemu+ssh connection, also for guest_via=host
	log      *slog.Logger
	now      func() time.Time

	infoSem  chan struct{} // serialises the first Info (the probe)
	mu       sync.Mutex
	info     *drivers.HostInfo
	domType  string
	poolPath string

	probed []string // the probe domains' names, under mu (tests)
	// teardown tracks the probe domains being destroyed in the
	// background; Close waits for them. closed (under mu) is set by Close
	// first, so a probe finishing after it tears down in the foreground.
	teardown sync.WaitGroup
	closed   bool

	// failAt, when set by tests in this package, makes Provision fail
	// right after the named step, to prove the rollback.
	failAt string
}

var _ drivers.Host = (*Host)(nil)
var _ drivers.Opener = Open

var knownOptions = []string{"network", "pool", "domain_type", "probe_kernel", "guest_via"}

// Open connects to the libvirt host at uri. Bad URIs and options are
// ClassInput errors; an unreachable host is a ClassHost error.
func Open(ctx context.Context, uri string, opts drivers.OpenOptions) (drivers.Host, error) {
	h, err := open(ctx, uri, opts)
	if err != nil {
		return nil, err
	}
	return h, nil
}

func open(ctx context.Context, uri string, opts drivers.OpenOptions) (*Host, error) {
	h := &Host{uri: drivers.RedactURI(uri), network: "default", pool: "default", log: slog.Default(), now: time.Now,
		infoSem: make(chan struct{}, 1)}
	for k, v := range opts.Extra {
		switch k {
		case "network":
			h.network = v
		case "pool":
			h.pool = v
		case "domain_type":
			if v != "kvm" && v != "qemu" {
				return nil, drivers.Errorf(drivers.ClassInput, "libvirt options", "domain_type %q: want kvm or qemu", v)
			}
			h.forceTyp = v
		case "probe_kernel":
			h.probeKrn = v
		case "guest_via":
			if v != "direct" && v != "host" {
				return nil, drivers.Errorf(drivers.ClassInput, "libvirt options", "guest_via %q: want direct or host", v)
			}
			h.guestVia = v
		default:
			return nil, drivers.Errorf(drivers.ClassInput, "libvirt options", "unknown option %q (known: %s)", k, strings.Join(knownOptions, ", "))
		}
	}
	if h.network == "" || h.pool == "" {
		return nil, drivers.Errorf(drivers.ClassInput, "libvirt options", "network and pool must not be empty")
	}
	dialer, remote, local, err := dialerFor(uri, opts)
	if err != nil {
		return nil, drivers.Wrap(drivers.ClassInput, "libvirt URI", err)
	}
	h.local = local
	h.jump, _ = dialer.(*sshDialer)
	if h.guestVia == "host" && h.jump == nil {
		return nil, drivers.Errorf(drivers.ClassInput, "libvirt options", "guest_via=host needs a qemu+ssh:// URI (guests are dialled through the host's SSH server); %s is not one", h.uri)
	}
	if h.jump != nil {
		if err := h.jump.load(); err != nil {
			return nil, err
		}
	}
	h.c = &conn{uri: h.uri, dialer: dialer, remote: remote}
	if _, err := h.c.get(ctx); err != nil {
		h.closeJump()
		return nil, err
	}
	// Check the network and pool now: a typo should fail before anything
	// is created, as bad input.
	if _, err := do(ctx, h.c, "libvirt open: network", func(l *golibvirt.Libvirt) (golibvirt.Network, error) {
		return l.NetworkLookupByName(h.network)
	}); err != nil {
		h.Close()
		return nil, drivers.Errorf(drivers.ClassInput, "libvirt open", "network %q not found on %s (option network): %w", h.network, h.uri, err)
	}
	path, err := h.poolTarget(ctx)
	if err != nil {
		h.Close()
		return nil, drivers.Errorf(drivers.ClassInput, "libvirt open", "storage pool %q not usable on %s (option pool): %w", h.pool, h.uri, err)
	}
	h.poolPath = path
	return h, nil
}

// dialerFor parses a libvirt URI. It mirrors go-libvirt's ConnectToURI but
// keeps our own timeouts, takes secrets and TLS files from opts, and
// rejects what we do not understand with one clear message.
func dialerFor(raw string, opts drivers.OpenOptions) (socket.Dialer, golibvirt.ConnectURI, bool, error) {
	u, transport, err := parseURI(raw)
	if err != nil {
		return nil, "", false, err
	}
	q := u.Query()
	remote := golibvirt.ConnectURI("qemu://" + u.Path)
	switch transport {
	case "unix":
		o := []dialers.LocalOption{dialers.WithLocalTimeout(dialTimeout)}
		if s := q.Get("socket"); s != "" {
			o = append(o, dialers.WithSocket(s))
		}
		return dialers.NewLocal(o...), remote, true, nil
	case "tcp":
		o := []dialers.RemoteOption{dialers.WithRemoteTimeout(dialTimeout)}
		if p := u.Port(); p != "" {
			o = append(o, dialers.UsePort(p))
		}
		return dialers.NewRemote(u.Hostname(), o...), remote, false, nil
	case "tls":
		return tlsDialerFor(u, opts), remote, false, nil
	default: // ssh
		d, err := newSSHDialer(u, opts)
		if err != nil {
			return nil, "", false, err
		}
		return d, remote, false, nil
	}
}

// uriParams are the query parameters each transport accepts.
var uriParams = map[string][]string{
	"unix": {"socket"},
	"ssh":  {"socket", "keyfile", "known_hosts"},
	"tcp":  {},
	"tls":  {"pkipath"},
}

// parseURI checks a libvirt URI and returns it with its transport (unix,
// ssh, tcp or tls). Its errors show the URI redacted.
func parseURI(raw string) (*url.URL, string, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%q: "+format, append([]any{drivers.RedactURI(raw)}, args...)...)
	}
	if drivers.URIHasPassword(raw) {
		return nil, "", bad("%s", drivers.URIPasswordMessage)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("cannot parse %q: %v", drivers.RedactURI(raw), drivers.URLParseCause(err))
	}
	scheme, transport, _ := strings.Cut(u.Scheme, "+")
	if scheme != "qemu" {
		return nil, "", bad("unsupported scheme %q; want qemu:///system, qemu+ssh://, qemu+tcp:// or qemu+tls://", u.Scheme)
	}
	if transport == "" {
		transport = "unix"
		if u.Host != "" {
			transport = "tls" // libvirt's rule for qemu://host/
		}
	}
	if u.Path != "/system" && u.Path != "/session" {
		return nil, "", bad("path must be /system or /session")
	}
	keys, ok := uriParams[transport]
	if !ok {
		return nil, "", bad("unsupported transport %q; want unix, ssh, tcp or tls", transport)
	}
	for k := range u.Query() {
		if !slices.Contains(keys, k) {
			return nil, "", bad("parameter %q is not supported with transport %s (supported: %s)", k, transport, strings.Join(keys, ", "))
		}
	}
	if transport == "unix" && u.Host != "" {
		return nil, "", bad("a unix socket URI has no host")
	}
	if transport != "unix" && u.Hostname() == "" {
		return nil, "", bad("qemu+%s needs a host", transport)
	}
	return u, transport, nil
}

// tlsDialerFor dials qemu+tls: with the plan's certificates when it names
// any (tlsDialer), else libvirt's pkipath layout.
func tlsDialerFor(u *url.URL, opts drivers.OpenOptions) socket.Dialer {
	port := u.Port()
	if port == "" {
		port = "16514"
	}
	if opts.CACertFile != "" || opts.ClientCertFile != "" || opts.ClientKeyFile != "" {
		return &tlsDialer{host: u.Hostname(), port: port, opts: opts}
	}
	o := []dialers.TLSOption{dialers.UseTLSPort(port)}
	if p := u.Query().Get("pkipath"); p != "" {
		o = append(o, dialers.UsePKIPath(p))
	}
	if opts.Insecure {
		o = append(o, dialers.WithInsecureNoVerify())
	}
	return dialers.NewTLS(u.Hostname(), o...)
}

// tlsDialer is used when the plan names the CA and client files one by
// one; go-libvirt's TLS dialer only searches fixed file names in a dir.
type tlsDialer struct {
	host, port string
	opts       drivers.OpenOptions
}

func (d *tlsDialer) Dial() (net.Conn, error) {
	cfg := &tls.Config{ServerName: d.host, InsecureSkipVerify: d.opts.Insecure, MinVersion: tls.VersionTLS12} //nolint:gosec // only when the user asked
	if d.opts.CACertFile != "" {
		pem, err := os.ReadFile(d.opts.CACertFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificate in CA file %s", d.opts.CACertFile)
		}
		cfg.RootCAs = pool
	}
	if d.opts.ClientCertFile != "" || d.opts.ClientKeyFile != "" {
		cert, err := tls.LoadX509KeyPair(d.opts.ClientCertFile, d.opts.ClientKeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	nd := &net.Dialer{Timeout: dialTimeout}
	c, err := tls.DialWithDialer(nd, "tcp", net.JoinHostPort(d.host, d.port), cfg)
	var cve *tls.CertificateVerificationError
	if errors.As(err, &cve) {
		return nil, drivers.Errorf(drivers.ClassSecurity, "libvirt tls", "the certificate of %s is not trusted (ca_cert): %v", d.host, cve.Err)
	}
	if err != nil {
		return nil, err
	}
	return c, readTLSVerdict(c)
}

// readTLSVerdict reads the byte libvirtd sends right after the TLS
// handshake: 1 when it accepted our certificate (its DN allow list and
// address checks), anything else when it did not. Without reading it the
// first RPC reply would be off by one byte.
func readTLSVerdict(c net.Conn) error {
	_ = c.SetReadDeadline(time.Now().Add(dialTimeout))
	b := make([]byte, 1)
	if _, err := io.ReadFull(c, b); err != nil {
		c.Close()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// libvirtd closes at once when it refuses the client.
			return drivers.Errorf(drivers.ClassInput, "libvirt tls", "libvirtd refused our client certificate: it closed the connection right after the TLS handshake (its tls_allowed_dn_list or address check)")
		}
		return fmt.Errorf("libvirtd sent no verdict after the TLS handshake: %w", err)
	}
	_ = c.SetReadDeadline(time.Time{})
	if b[0] != 1 {
		c.Close()
		return drivers.Errorf(drivers.ClassInput, "libvirt tls", "libvirtd refused our client certificate (its tls_allowed_dn_list or address check)")
	}
	return nil
}

// Close releases the connection; guests stay. It first waits for the
// background teardown of a KVM probe domain (bounded by destroyProbe's
// and the volume deletes' own deadlines).
func (h *Host) Close() error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.teardown.Wait()
	err := h.c.close()
	h.closeJump()
	return err
}

func (h *Host) closeJump() {
	if h.jump != nil {
		h.jump.Close()
	}
}

// poolTarget returns the directory of the storage pool (for the console
// file paths) and checks the pool is active.
func (h *Host) poolTarget(ctx context.Context) (string, error) {
	x, err := do(ctx, h.c, "storage pool", func(l *golibvirt.Libvirt) (string, error) {
		p, err := l.StoragePoolLookupByName(h.pool)
		if err != nil {
			return "", err
		}
		active, err := l.StoragePoolIsActive(p)
		if err != nil {
			return "", err
		}
		if active == 0 {
			return "", fmt.Errorf("pool %q is not active", h.pool)
		}
		return l.StoragePoolGetXMLDesc(p, 0)
	})
	if err != nil {
		return "", err
	}
	var sp libvirtxml.StoragePool
	if err := sp.Unmarshal(x); err != nil {
		return "", err
	}
	if sp.Target == nil || sp.Target.Path == "" {
		return "", fmt.Errorf("pool %q has no target path", h.pool)
	}
	return sp.Target.Path, nil
}

// Info describes the host. The acceleration is probed on first use and
// cached for the life of the connection.
func (h *Host) Info(ctx context.Context) (drivers.HostInfo, error) {
	// One probe per connection, even when several guests are provisioned
	// at once: later callers wait for the first (or for their ctx).
	select {
	case h.infoSem <- struct{}{}:
		defer func() { <-h.infoSem }()
	case <-ctx.Done():
		return drivers.HostInfo{}, drivers.Errorf(drivers.ClassHost, "host info", "%w", ctx.Err())
	}
	h.mu.Lock()
	if h.info != nil {
		i := *h.info
		h.mu.Unlock()
		return i, nil
	}
	h.mu.Unlock()

	type basics struct {
		name, caps, typ string
		lib, hv         uint64
	}
	b, err := do(ctx, h.c, "host info", func(l *golibvirt.Libvirt) (basics, error) {
		var b basics
		var err error
		if b.name, err = l.ConnectGetHostname(); err != nil {
			return b, err
		}
		if b.lib, err = l.ConnectGetLibVersion(); err != nil {
			return b, err
		}
		if b.hv, err = l.ConnectGetVersion(); err != nil {
			return b, err
		}
		if b.typ, err = l.ConnectGetType(); err != nil {
			return b, err
		}
		b.caps, err = l.ConnectGetCapabilities()
		return b, err
	})
	if err != nil {
		return drivers.HostInfo{}, err
	}
	var caps libvirtxml.Caps
	if err := caps.Unmarshal(b.caps); err != nil {
		return drivers.HostInfo{}, drivers.Wrap(drivers.ClassHost, "host capabilities", err)
	}
	accel, notes, err := h.accel(ctx, caps)
	if err != nil {
		return drivers.HostInfo{}, err
	}
	info := drivers.HostInfo{
		Driver: "libvirt",
		Name:   b.name,
		OS:     h.hostOS(caps),
		Versions: map[string]string{
			"libvirt":              fmtVersion(b.lib),
			strings.ToLower(b.typ): fmtVersion(b.hv),
		},
		Accel: accel,
		Notes: notes,
	}
	if accel == "kvm" {
		info.Hypervisor, info.Nature = "kvm", drivers.NatureReal
	} else {
		info.Hypervisor, info.Nature = "qemu", drivers.NatureEmulated
	}
	h.mu.Lock()
	h.info = &info
	h.mu.Unlock()
	return info, nil
}

// fmtVersion turns libvirt's major*1e6+minor*1e3+micro into "9.0.0".
func fmtVersion(v uint64) string {
	return fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000)
}

// hostOS names the host OS. libvirt does not expose the OS release over
// RPC, so a remote host is described by its architecture only.
func (h *Host) hostOS(caps libvirtxml.Caps) string {
	arch := ""
	if caps.Host.CPU != nil {
		arch = caps.Host.CPU.Arch
	}
	if !h.local {
		return "linux " + arch + " (remote; OS release not exposed by libvirt)"
	}
	name := "linux"
	if data, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				name = strings.Trim(v, `"`)
			}
		}
	}
	if rel, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		name += ", kernel " + strings.TrimSpace(string(rel))
	}
	return name + " " + arch
}

// domainType returns the domain type guests get ("kvm" or "qemu").
func (h *Host) domainType(ctx context.Context) (string, error) {
	if _, err := h.Info(ctx); err != nil {
		return "", err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.domType, nil
}

// accel decides between kvm and TCG. Capabilities list kvm whenever
// /dev/kvm exists, even where a kvm guest hangs (nested KVM here), so a
// real boot decides.
func (h *Host) accel(ctx context.Context, caps libvirtxml.Caps) (string, []string, error) {
	set := func(t string) {
		h.mu.Lock()
		h.domType = t
		h.mu.Unlock()
	}
	accelOf := map[string]string{"kvm": "kvm", "qemu": "tcg"}
	if h.forceTyp != "" {
		set(h.forceTyp)
		return accelOf[h.forceTyp], []string{"domain type " + h.forceTyp + " forced by option domain_type (not probed)"}, nil
	}
	if !capsHaveKVM(caps) {
		set("qemu")
		return "tcg", []string{"libvirt offers no kvm domain type on this host: guests run under QEMU TCG software emulation"}, nil
	}
	kernel := h.probeKrn
	if kernel == "" && h.local {
		kernel = newestKernel()
	}
	if kernel == "" {
		set("qemu")
		return "tcg", []string{"kvm is listed in capabilities but could not be probed (no kernel to boot; set option probe_kernel); using TCG software emulation to be safe"}, nil
	}
	ok, why, err := h.probe(ctx, "kvm", kernel, kvmProbeTimeout)
	if err != nil {
		return "", nil, err
	}
	if ok {
		set("kvm")
		return "kvm", []string{"kvm probed: " + why}, nil
	}
	set("qemu")
	return "tcg", []string{"kvm is listed in capabilities but a probe boot failed (" + why + "); guests run under QEMU TCG software emulation"}, nil
}

func capsHaveKVM(caps libvirtxml.Caps) bool {
	for _, g := range caps.Guests {
		if g.OSType != "hvm" || g.Arch.Name != "x86_64" {
			continue
		}
		for _, d := range g.Arch.Domains {
			if d.Type == "kvm" {
				return true
			}
		}
	}
	return false
}

func newestKernel() string {
	m, _ := filepath.Glob("/boot/vmlinuz-*")
	if len(m) == 0 {
		return ""
	}
	sort.Strings(m)
	return m[len(m)-1]
}

// kvmProbeTimeout bounds the wait for a kvm guest's kernel banner, counted
// from the moment QEMU runs. A working kvm guest prints it well under a
// second; TCG needs about 2 s here, and a broken kvm never does.
const kvmProbeTimeout = 4 * time.Second

// probeLabel is the run label of the short-lived probe domain and its
// console volume, so that a probe interrupted by a crash is swept too.
const probeLabel = "virtcert-probe"

// probe boots kernel in a transient domain of type typ and waits for its
// first console line. A deadline bounds it: a hung kvm guest prints
// nothing.
func (h *Host) probe(ctx context.Context, typ, kernel string, deadline time.Duration) (bool, string, error) {
	name := fmt.Sprintf("%s-%d", probeLabel, time.Now().UnixNano()%1e9)
	h.mu.Lock()
	h.probed = append(h.probed, name)
	h.mu.Unlock()
	console, cleanupVol, err := h.createConsoleVol(ctx, probeLabel, name)
	if err != nil {
		return false, "", err
	}
	x, err := probeDomainXML(name, typ, kernel, console.path, runMeta{Label: probeLabel, Guest: name, Created: h.now().UTC().Format(time.RFC3339Nano)})
	if err != nil {
		cleanupVol()
		return false, "", drivers.Wrap(drivers.ClassHost, "kvm probe", err)
	}
	start := time.Now()
	dom, err := h.startProbe(ctx, name, x)
	if err != nil {
		cleanupVol()
		if ctx.Err() != nil {
			return false, "", err
		}
		return false, "starting a " + typ + " domain failed: " + err.Error(), nil
	}
	ok, why, err := h.waitKernelBanner(ctx, console.vol, typ, start, deadline)
	h.log.Debug("libvirt: kvm probe decided", "domain", name, "ok", ok, "why", why, "took", time.Since(start))
	// The verdict is in: the run need not wait for the probe domain to
	// die (a hung kvm QEMU can take seconds), only Close does.
	teardown := func() {
		h.destroyProbe(ctx, dom, name)
		cleanupVol()
		h.log.Debug("libvirt: kvm probe domain removed", "domain", name, "after", time.Since(start))
	}
	h.mu.Lock()
	closing := h.closed
	if !closing {
		h.teardown.Add(1)
	}
	h.mu.Unlock()
	if closing {
		teardown()
		return ok, why, err
	}
	go func() {
		defer h.teardown.Done()
		teardown()
	}()
	return ok, why, err
}

// startProbe creates the probe domain. The create runs to completion under
// its own bound, like Provision's creating calls: abandoned on a cancelled
// ctx, libvirtd still created the domain and nothing destroyed it (seen on
// the lab under load: a hung kvm probe spinning for the rest of a test
// run). When the create fails, whatever happened, no probe domain of this
// name is left alive.
func (h *Host) startProbe(ctx context.Context, name, x string) (golibvirt.Domain, error) {
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), mutateTimeout)
	dom, err := do(cctx, h.c, "kvm probe: start", func(l *golibvirt.Libvirt) (golibvirt.Domain, error) {
		return l.DomainCreateXML(x, 0)
	})
	ccancel()
	if err == nil {
		return dom, nil
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 45*time.Second)
	defer cancel()
	_ = do0(dctx, h.c, "probe: destroy after a failed start", func(l *golibvirt.Libvirt) error {
		d, lerr := l.DomainLookupByName(name)
		if lerr != nil {
			return nil
		}
		return l.DomainDestroy(d)
	})
	return dom, err
}

// destroyProbe destroys the probe domain, retrying for up to 45 s: a QEMU
// stuck in a hung kvm guest can take a while to die (libvirt sends
// SIGTERM, then SIGKILL). If it still does not go, the domain keeps its
// label and Sweep removes it later.
func (h *Host) destroyProbe(ctx context.Context, dom golibvirt.Domain, name string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 45*time.Second)
	defer cancel()
	for {
		err := do0(dctx, h.c, "probe: destroy", func(l *golibvirt.Libvirt) error {
			err := l.DomainDestroy(dom)
			if isNoDomain(err) || libvirtCode(err) == golibvirt.ErrOperationInvalid {
				return nil
			}
			return err
		})
		if err == nil {
			return
		}
		if dctx.Err() != nil {
			h.log.Warn("libvirt: probe domain not destroyed; virtcert sweep removes it", "domain", name, "err", err)
			return
		}
		time.Sleep(time.Second)
	}
}

// waitKernelBanner polls the probe's console volume until the kernel
// banner shows (true), deadline passes (false, with the reason) or ctx
// ends (an error).
func (h *Host) waitKernelBanner(ctx context.Context, console golibvirt.StorageVol, typ string, start time.Time, deadline time.Duration) (bool, string, error) {
	pctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	for {
		out, err := h.download(pctx, console)
		if err != nil && pctx.Err() == nil {
			h.log.Debug("libvirt: probe console", "err", err)
		}
		if strings.Contains(string(out), "Linux version") {
			return true, fmt.Sprintf("a %s domain printed its kernel banner %.1fs after start", typ, time.Since(start).Seconds()), nil
		}
		select {
		case <-pctx.Done():
			if ctx.Err() != nil {
				return false, "", drivers.Errorf(drivers.ClassHost, "kvm probe", "%w", ctx.Err())
			}
			return false, fmt.Sprintf("a %s domain printed no kernel output within %s", typ, deadline), nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// volRef is a volume we created, with its host path.
type volRef struct {
	vol  golibvirt.StorageVol
	path string
}

// createConsoleVol creates the empty file the serial port writes to, as a
// volume in the pool so it can be read back (and swept) through libvirt,
// after its owner record (owner.go). The cleanup removes both.
func (h *Host) createConsoleVol(ctx context.Context, label, guest string) (volRef, func(), error) {
	name := volName(label, guest, kindConsole)
	x, err := volumeXML(name, "raw", 0, "", "")
	if err != nil {
		return volRef{}, nil, drivers.Wrap(drivers.ClassHost, "console volume", err)
	}
	owner, err := h.createOwner(ctx, label, guest, []string{name})
	if err != nil {
		return volRef{}, nil, err
	}
	ref, err := h.createVol(ctx, "create console volume", x, 0)
	if err != nil {
		h.deleteVolDetached(ctx, owner.vol)
		return volRef{}, nil, err
	}
	return ref, func() {
		if h.deleteVolDetached(ctx, ref.vol) == nil {
			h.deleteVolDetached(ctx, owner.vol)
		}
	}, nil
}

func (h *Host) createVol(ctx context.Context, op, x string, flags golibvirt.StorageVolCreateFlags) (volRef, error) {
	return do(ctx, h.c, op, func(l *golibvirt.Libvirt) (volRef, error) {
		p, err := l.StoragePoolLookupByName(h.pool)
		if err != nil {
			return volRef{}, err
		}
		v, err := l.StorageVolCreateXML(p, x, flags)
		if err != nil {
			return volRef{}, err
		}
		path, err := l.StorageVolGetPath(v)
		if err != nil {
			l.StorageVolDelete(v, 0)
			return volRef{}, err
		}
		return volRef{vol: v, path: path}, nil
	})
}

// deleteVolDetached deletes a volume even when ctx is already cancelled
// (cleanup after a cancelled provision), bounded by its own deadline.
func (h *Host) deleteVolDetached(ctx context.Context, v golibvirt.StorageVol) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return do0(dctx, h.c, "delete volume "+v.Name, func(l *golibvirt.Libvirt) error {
		err := l.StorageVolDelete(v, 0)
		if isNoVol(err) {
			return nil
		}
		return err
	})
}

// download reads a whole volume through the storage API.
func (h *Host) download(ctx context.Context, v golibvirt.StorageVol) ([]byte, error) {
	// On a local host the volume of a dir pool is a file we can read
	// (its key is its path). Reading it directly avoids a libvirt stream:
	// on the loaded lab, StorageVolDownload of a console file that virtlogd
	// was still appending to sometimes stalled until its deadline, and the
	// stall marked the whole connection broken for every other call.
	if h.local && strings.HasPrefix(v.Key, "/") {
		if b, err := os.ReadFile(v.Key); err == nil {
			return b, nil
		}
	}
	return do(ctx, h.c, "read volume "+v.Name, func(l *golibvirt.Libvirt) ([]byte, error) {
		var buf bytesBuffer
		err := l.StorageVolDownload(v, &buf, 0, 0, 0)
		return buf.b, err
	})
}

// bytesBuffer is a minimal io.Writer (bytes.Buffer would do; this keeps
// the download goroutine from sharing a buffer after a timeout).
type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// unmarshalDomain parses domain XML.
func unmarshalDomain(x string) (*libvirtxml.Domain, error) {
	var d libvirtxml.Domain
	if err := d.Unmarshal(x); err != nil {
		return nil, err
	}
	return &d, nil
}

// GuestDialer dials guests through the host's SSH server when the plan
// says guest_via: host (drivers.GuestNet); nil means dial them directly.
func (h *Host) GuestDialer() drivers.DialFunc {
	if h.guestVia != "host" || h.jump == nil {
		return nil
	}
	return h.jump.DialGuest
}
