package libvirt

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/virtcert/virtcert/drivers"
)

// sshDialer reaches a remote libvirtd over one SSH connection, as
// qemu+ssh:// does: the RPC stream goes to the host's libvirt unix socket
// (an OpenSSH direct-streamlocal channel, what libvirt's own nc helper
// provides), and with guest_via=host the guests are dialled through the
// same connection (direct-tcpip), so the controller needs no route to the
// guest network.
//
// We do not use go-libvirt's SSH dialer: it can ignore host keys, appends
// unknown keys to known_hosts when asked, keeps no client for other
// channels and never closes the SSH client under a closed libvirt stream.
// Here the host key is always pinned: an entry in known_hosts (the URI's
// known_hosts=, else ~/.ssh/known_hosts) is required, and a host without
// one, or with another key, is a security error before anything else.
type sshDialer struct {
	addr   string // host:port, also the known_hosts name
	user   string
	socket string
	hkFile string // known_hosts (the URI's known_hosts=, or empty: ~/.ssh/known_hosts)
	keyArg string // the URI's keyfile=
	pw     drivers.Secret
	hkCB   ssh.HostKeyCallback
	algos  []string
	auth   []ssh.AuthMethod

	mu     sync.Mutex
	client *ssh.Client
	closed bool
}

// defaultRemoteSocket is libvirtd's system socket on the remote host.
const defaultRemoteSocket = "/var/run/libvirt/libvirt-sock"

// newSSHDialer reads a qemu+ssh URI; load then reads the files it names.
func newSSHDialer(u *url.URL, opts drivers.OpenOptions) (*sshDialer, error) {
	if opts.Insecure {
		return nil, errors.New("insecure: true does not apply to qemu+ssh: the host key is always pinned (known_hosts)")
	}
	port := u.Port()
	if port == "" {
		port = "22"
	}
	q := u.Query()
	d := &sshDialer{addr: net.JoinHostPort(u.Hostname(), port), user: u.User.Username(), socket: q.Get("socket")}
	if d.user == "" {
		d.user = opts.Username
	}
	if d.user == "" {
		d.user = "root"
	}
	if d.socket == "" {
		d.socket = defaultRemoteSocket
	}
	d.hkFile, d.keyArg, d.pw = q.Get("known_hosts"), q.Get("keyfile"), opts.Password
	return d, nil
}

// load checks everything that can be checked before dialling: the pinned
// host key and the client key.
func (d *sshDialer) load() error {
	if err := d.pin(d.hkFile); err != nil {
		return err
	}
	return d.credentials(d.keyArg, d.pw)
}

// pin loads the known_hosts file and requires an entry for the host. It
// also restricts the host key algorithms to the pinned keys' types, so a
// server with several host keys presents one we pinned.
func (d *sshDialer) pin(file string) error {
	if file == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return drivers.Errorf(drivers.ClassInput, "libvirt URI", "no known_hosts= and no home directory: cannot pin the host key of %s", d.addr)
		}
		file = filepath.Join(home, ".ssh", "known_hosts")
	}
	d.hkFile = file
	cb, err := knownhosts.New(file)
	if err != nil {
		return drivers.Errorf(drivers.ClassSecurity, "libvirt ssh", "host key of %s is not pinned: cannot read known_hosts %s: %v", d.addr, file, unwrapPath(err))
	}
	_, probe, _ := ed25519.GenerateKey(nil)
	s, _ := ssh.NewSignerFromKey(probe)
	var ke *knownhosts.KeyError
	if err := cb(d.addr, &net.TCPAddr{}, s.PublicKey()); !errors.As(err, &ke) || len(ke.Want) == 0 {
		return drivers.Errorf(drivers.ClassSecurity, "libvirt ssh", "host key of %s is not pinned: no entry in %s (add the host's key there after checking its fingerprint)", d.addr, file)
	}
	for _, k := range ke.Want {
		d.algos = append(d.algos, hostKeyAlgorithms(k.Key)...)
	}
	d.hkCB = cb
	return nil
}

func hostKeyAlgorithms(k ssh.PublicKey) []string {
	if k.Type() == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	}
	return []string{k.Type()}
}

// credentials reads the client key (keyfile=, else the usual ~/.ssh
// identities) and adds the password when the plan gave one.
func (d *sshDialer) credentials(keyfile string, pw drivers.Secret) error {
	files := []string{keyfile}
	if keyfile == "" {
		files = nil
		if home, err := os.UserHomeDir(); err == nil {
			for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
				files = append(files, filepath.Join(home, ".ssh", n))
			}
		}
	}
	var signers []ssh.Signer
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			if keyfile != "" {
				return drivers.Errorf(drivers.ClassInput, "libvirt URI", "keyfile: %v", unwrapPath(err))
			}
			continue
		}
		s, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return drivers.Errorf(drivers.ClassInput, "libvirt URI", "keyfile %s: %v", f, err)
		}
		signers = append(signers, s)
	}
	if len(signers) > 0 {
		d.auth = append(d.auth, ssh.PublicKeys(signers...))
	}
	if pw != "" {
		d.auth = append(d.auth, ssh.PasswordCallback(func() (string, error) { return pw.Reveal(), nil }))
	}
	if len(d.auth) == 0 {
		return drivers.Errorf(drivers.ClassInput, "libvirt URI", "qemu+ssh to %s: no client key (keyfile=) and no password", d.addr)
	}
	return nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// Dial opens the libvirt RPC stream: a channel to the remote socket.
func (d *sshDialer) Dial() (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	return d.dial(ctx, "unix", d.socket)
}

// DialGuest dials addr on the host's side (guest_via=host).
func (d *sshDialer) DialGuest(ctx context.Context, network, addr string) (net.Conn, error) {
	return d.dial(ctx, network, addr)
}

// dial opens a channel, reconnecting once when the SSH connection died.
func (d *sshDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	for attempt := 0; ; attempt++ {
		cl, err := d.get(ctx)
		if err != nil {
			return nil, err
		}
		c, err := cl.DialContext(ctx, network, addr)
		if err == nil {
			return c, nil
		}
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) || attempt > 0 || ctx.Err() != nil {
			// The host refused this channel: its answer, not a dead link.
			return nil, fmt.Errorf("via ssh %s: %s %s: %w", d.addr, network, addr, err)
		}
		d.drop(cl)
	}
}

// get returns the live SSH client, connecting when there is none.
func (d *sshDialer) get(ctx context.Context) (*ssh.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errors.New("ssh connection closed")
	}
	if d.client != nil {
		return d.client, nil
	}
	cl, err := d.connect(ctx)
	if err != nil {
		return nil, err
	}
	d.client = cl
	go func() {
		_ = cl.Wait()
		d.drop(cl)
	}()
	return cl, nil
}

func (d *sshDialer) drop(cl *ssh.Client) {
	d.mu.Lock()
	if d.client == cl {
		d.client = nil
	}
	d.mu.Unlock()
	cl.Close()
}

// connect dials TCP and runs the handshake within ctx.
func (d *sshDialer) connect(ctx context.Context) (*ssh.Client, error) {
	var hkErr error
	cfg := &ssh.ClientConfig{
		User: d.user,
		Auth: d.auth,
		HostKeyCallback: func(h string, a net.Addr, k ssh.PublicKey) error {
			if err := d.hkCB(h, a, k); err != nil {
				hkErr = drivers.Errorf(drivers.ClassSecurity, "libvirt ssh", "host key of %s (%s) does not match the key pinned in %s", d.addr, ssh.FingerprintSHA256(k), d.hkFile)
				return hkErr
			}
			return nil
		},
		HostKeyAlgorithms: d.algos,
		Timeout:           dialTimeout,
	}
	var nd net.Dialer
	raw, err := nd.DialContext(ctx, "tcp", d.addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(raw, d.addr, cfg)
	stop()
	if err != nil {
		raw.Close()
		switch {
		case hkErr != nil:
			return nil, hkErr
		case isAuthRefused(err):
			return nil, drivers.Errorf(drivers.ClassInput, "libvirt ssh", "%s refused our credentials as user %s (check keyfile=): %v", d.addr, d.user, err)
		}
		return nil, err
	}
	_ = raw.SetDeadline(time.Time{})
	return ssh.NewClient(sc, chans, reqs), nil
}

func isAuthRefused(err error) bool {
	return strings.Contains(err.Error(), "unable to authenticate")
}

// Close closes the SSH connection (every channel on it).
func (d *sshDialer) Close() {
	d.mu.Lock()
	cl := d.client
	d.client, d.closed = nil, true
	d.mu.Unlock()
	if cl != nil {
		cl.Close()
	}
}
