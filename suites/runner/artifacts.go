package runner

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/reports"
)

// saveConsole writes a guest's console log among the target's artifacts.
func (r *runner) saveConsole(g drivers.Guest, dir string, t *reports.Target) {
	cctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	b, err := g.Console(cctx)
	if err != nil || len(b) == 0 {
		return
	}
	name := "console.log"
	if t.Guest.Name != "" && g.Name() != t.Guest.Name {
		name = "console-peer.log"
	}
	r.addArtifact(t, filepath.Join(dir, name), b)
}

// keep leaves a failed target's guest running, writes how to reach it
// (keepSSH, keepWinRM by the guest's OS), and records and says so.
func (r *runner) keep(t *reports.Target, s *session, dir string) {
	k := Kept{Target: t.ID, Guest: s.g.Name()}
	if s.guestOS == "windows" {
		r.keepWinRM(&k, s, dir)
	} else {
		r.keepSSH(&k, s, dir)
	}
	r.outMu.Lock()
	r.out.Kept = append(r.out.Kept, k)
	r.outMu.Unlock()
	r.progress(t.ID, "kept guest %s for debugging: %s (remove it with: virtcert sweep --run %s)", k.Guest, k.Command, r.label)
}

// keepSSH writes an ssh_config with the pinned host key in its own
// known_hosts.
func (r *runner) keepSSH(k *Kept, s *session, dir string) {
	host, port, err := net.SplitHostPort(s.addr)
	if err != nil {
		host, port = s.addr, "22"
	}
	kh := filepath.Join(dir, "known_hosts")
	_ = r.writeArtifact(kh, []byte(guests.KnownHostsLine(host, port, s.access.HostKey)+"\n"))
	key, _ := filepath.Abs(filepath.Join(r.keyDir, "id_ed25519"))
	khAbs, _ := filepath.Abs(kh)
	cfg := fmt.Sprintf("Host %s\n  HostName %s\n  Port %s\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n",
		k.Guest, host, port, s.access.User, key, khAbs)
	sc := filepath.Join(dir, "ssh_config")
	_ = r.writeArtifact(sc, []byte(cfg))
	scAbs, _ := filepath.Abs(sc)
	k.SSHConfig, k.Command = scAbs, fmt.Sprintf("ssh -F %s %s", scAbs, k.Guest)
}

// keepWinRM writes how to reach a Windows guest over WinRM: address,
// account and the pinned certificate. The password is never written to
// the run directory; it is on the guest's config drive (meta_data.json
// admin_pass), which stays on the host.
func (r *runner) keepWinRM(k *Kept, s *session, dir string) {
	txt := fmt.Sprintf("WinRM over HTTPS: %s\nuser: %s\ncertificate: %s (pin it; it is the only one to trust)\npassword: admin_pass in the guest's config drive (openstack/latest/meta_data.json), not saved here\n",
		s.addr, s.access.User, s.access.HostKey)
	p := filepath.Join(dir, "winrm.txt")
	_ = r.writeArtifact(p, []byte(txt))
	abs, _ := filepath.Abs(p)
	k.Command = "see " + abs
}

// fingerprint records the guest half of the environment.
func (r *runner) fingerprint(ctx context.Context, s *session, img *plan.Image, t *reports.Target) {
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if img.OS == "windows" {
		identify(fctx, s, t)
	} else {
		res, err := s.os.Run(fctx, transport.Command{Cmd: "cat /etc/os-release 2>/dev/null; echo; echo VC_KERNEL=$(uname -r)"})
		if err == nil {
			for _, l := range strings.Split(string(res.Stdout), "\n") {
				if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
					t.Guest.Distro = reports.Clean(strings.Trim(v, `"'`))
				}
				if v, ok := strings.CutPrefix(l, "VC_KERNEL="); ok {
					t.Guest.Kernel = reports.Clean(strings.TrimSpace(v))
				}
			}
		}
	}
	if sum, err := imageSHA256(fctx, img.Path); err == nil {
		t.Guest.ImageSHA256 = sum
	}
}

// identify asks a Windows guest once whether it declares itself a
// stand-in (guests.WindowsIdentityScript) and records the answer; a
// failed query is recorded as such, never left out or taken for real.
func identify(ctx context.Context, s *session, t *reports.Target) {
	res, err := s.os.Run(ctx, transport.Command{Cmd: guests.WindowsIdentityScript, Timeout: 20 * time.Second})
	if err == nil && res.Exit != 0 {
		err = fmt.Errorf("exit %d: %s", res.Exit, firstLine(string(res.Stderr)))
	}
	var id guests.Identity
	if err == nil {
		id, err = guests.ParseIdentity(string(res.Stdout))
	}
	if err != nil {
		t.Guest.IdentityError = reports.Clean("the identity query failed: " + err.Error())
		return
	}
	if id.Simulated != "" {
		t.Guest.Nature, t.Guest.Identity = drivers.NatureSimulated, reports.Clean(id.Simulated)
	}
}

// firstLine is s's first non-empty line.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return "(no error text)"
}

// retryHost retries f while it fails with a host error (the host did not
// answer: e.g. libvirtd restarting, which refuses connections for a few
// seconds) and ctx lasts, backing off from 1 s to 8 s. Without it a
// guest whose destroy met the restart leaked, and a guest whose address
// lookup met it was given up at once. It returns the retries made.
func retryHost(ctx context.Context, f func(context.Context) error) (int, error) {
	backoff := time.Second
	for i := 0; ; i++ {
		err := f(ctx)
		if err == nil || drivers.ClassOf(err) != drivers.ClassHost || ctx.Err() != nil {
			return i, err
		}
		select {
		case <-ctx.Done():
			return i, err
		case <-time.After(backoff):
		}
		if backoff < 8*time.Second {
			backoff *= 2
		}
	}
}
