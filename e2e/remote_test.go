package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtcert/virtcert/fixtures/lab"
	"github.com/virtcert/virtcert/reports"
)

// The remote lab host (fixtures/lab/remote): a second libvirtd with its own
// sshd in netns $VIRTCERT_NETNS-r, at lab.RemoteIP from the lab netns, with
// an isolated guest network 192.168.151.0/24 the lab netns has no route to.
const remoteIP = lab.RemoteIP

// remoteDir returns the remote lab host's directory, or skips.
func remoteDir(t *testing.T) string {
	t.Helper()
	need(t)
	dir, err := lab.RemoteDir()
	if err != nil {
		t.Skipf("remote lab host not running (fixtures/lab/remote up; make e2e starts it): %v", err)
	}
	return dir
}

// remoteSSHURI is the qemu+ssh URI of the remote lab host with the given
// known_hosts file.
func remoteSSHURI(dir, knownHosts string) string {
	return lab.RemoteSSHURI(filepath.Join(dir, "ssh", "client_ed25519"), knownHosts)
}

// twoHostPlan writes a plan with the tiny guest on the local lab and on
// the remote host (over qemu+ssh, guests reached through the host); extra
// is added to the remote host's entry. Without withLab, the remote only.
func twoHostPlan(t *testing.T, remoteURI, extra string, withLab bool) string {
	t.Helper()
	lab := ""
	if withLab {
		lab = "\n  lab:\n    driver: libvirt\n    uri: lab\n    options: {network: virtcert, pool: virtcert}"
	}
	text := fmt.Sprintf(`name: e2e-two-hosts
hosts:%s
  remote:
    driver: libvirt
    uri: %q
    options: {network: virtcert-remote, pool: virtcert-remote, guest_via: host}%s
images:
%sparallel: 2
suites: [e2e]
timeouts: {provision: 2m, ready: 4m, destroy: 3s, run: 20m}
`, lab, remoteURI, extra, tinyImage())
	p := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRemoteTwoHosts: one plan certifies a tiny guest on the local lab and
// one on the remote host over qemu+ssh, at the same time. The remote
// guest is reached through the remote host's sshd: the controller has no
// route to its network, which the test proves from the routing table.
func TestRemoteTwoHosts(t *testing.T) {
	dir := remoteDir(t)
	t.Parallel()
	guestSlots(t, 2)
	out := filepath.Join(t.TempDir(), "run")
	start := time.Now()
	code, stdout, stderr := virtcert(t, nil, 10*time.Minute, "run", "--plan",
		twoHostPlan(t, remoteSSHURI(dir, filepath.Join(dir, "ssh", "known_hosts")), "", true), "--out", out)
	t.Logf("two hosts: run took %s", time.Since(start).Round(time.Second))
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s\n%s", code, stdout, stderr)
	}
	label := labelOf(t, stdout)
	run := readRun(t, out)
	if len(run.Targets) != 2 || run.Verdict() != reports.Certified {
		t.Fatalf("want 2 certified targets, got %d, verdict %s", len(run.Targets), run.Verdict())
	}
	byName := map[string]*reports.Target{}
	for _, tg := range run.Targets {
		byName[tg.ID] = tg
	}
	lab, remote := byName["lab/tiny"], byName["remote/tiny"]
	if lab == nil || remote == nil {
		t.Fatalf("targets %v, want lab/tiny and remote/tiny", byName)
	}
	if !strings.HasPrefix(lab.Guest.Address, "192.168.150.") || !strings.HasPrefix(remote.Guest.Address, "192.168.151.") {
		t.Errorf("addresses: lab %q, remote %q", lab.Guest.Address, remote.Guest.Address)
	}
	if !strings.Contains(remote.HostInfo.OS, "remote") {
		t.Errorf("remote host info: %+v", remote.HostInfo)
	}
	// In parallel: each target started before the other finished.
	if !lab.Started.Before(remote.Finished) || !remote.Started.Before(lab.Finished) {
		t.Errorf("not in parallel: lab %s–%s, remote %s–%s", lab.Started, lab.Finished, remote.Started, remote.Finished)
	}
	assertNoRoute(t, remote.Guest.Address)
	assertClean(t, label)
	if l := leftoversAt(t, "qemu:///system?socket="+filepath.Join(dir, "run", "libvirt-sock"), "virtcert-remote", label); len(l) > 0 {
		t.Errorf("the remote host still holds resources of %s: %v", label, l)
	}
}

// assertNoRoute proves the controller cannot reach addr on its own: the
// kernel has no route to it, so a direct connect fails at once.
func assertNoRoute(t *testing.T, addr string) {
	t.Helper()
	out, err := exec.Command("ip", "route", "get", addr).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "unreachable") {
		t.Errorf("ip route get %s: %v %s; want no route from the controller", addr, err, out)
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, "22"), 5*time.Second)
	if err == nil {
		c.Close()
		t.Errorf("the controller reached %s directly", addr)
	} else if !errors.Is(err, syscall.ENETUNREACH) {
		t.Errorf("direct dial %s: %v, want network unreachable", addr, err)
	}
}

// TestRemoteRefused: the remote host with its key not pinned, with
// another key pinned, or with insecure: true: one clear message, exit 2,
// before any guest exists. The host's URI in messages carries no password.
func TestRemoteRefused(t *testing.T) {
	dir := remoteDir(t)
	t.Parallel()
	tmp := t.TempDir()
	empty := filepath.Join(tmp, "known_hosts")
	os.WriteFile(empty, nil, 0o600)
	other := filepath.Join(tmp, "other_known_hosts")
	os.WriteFile(other, []byte(remoteIP+" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"), 0o600)
	good := remoteSSHURI(dir, filepath.Join(dir, "ssh", "known_hosts"))
	for _, c := range []struct {
		name, uri, extra string
		want             string
	}{
		{"unpinned", remoteSSHURI(dir, empty), "", "SECURITY: "},
		{"other key", remoteSSHURI(dir, other), "", "does not match the key pinned in " + other},
		{"insecure", good, "\n    insecure: true", "insecure: true does not apply to qemu+ssh"},
		{"password in uri", strings.Replace(good, "root@", "root:hunter2@", 1), "", "a password does not belong in the URI"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			code, stdout, stderr := virtcert(t, nil, 2*time.Minute, "run", "--plan", twoHostPlan(t, c.uri, c.extra, false), "--out", out)
			if code != 2 {
				t.Errorf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if msg := oneLine(t, stderr); !strings.Contains(msg, c.want) {
				t.Errorf("message %q lacks %q", msg, c.want)
			}
			if strings.Contains(stdout+stderr, "hunter2") {
				t.Errorf("secret echoed:\n%s%s", stdout, stderr)
			}
			if strings.Contains(stdout, " ready at ") {
				t.Errorf("a guest was provisioned:\n%s", stdout)
			}
		})
	}
}
