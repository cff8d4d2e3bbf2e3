package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/virtcert/virtcert/guests"
	"github.com/virtcert/virtcert/guests/seed"
	vssh "github.com/virtcert/virtcert/guests/transport/ssh"
)

// guest is a tiny fixture guest booted the raw way: an overlay, a NoCloud
// seed, `virsh create`, a DHCP lease, then SSH. It is bench c's baseline
// and the machine benches a, b and e talk to.
type guest struct {
	uri, name, dir, mac, addr string
	key                       *guests.ClientKey
	host                      *guests.HostKey
	keyFile, knownHosts       string
	toSSH                     time.Duration // overlay+seed+create → first `true` over SSH
}

var domainTmpl = template.Must(template.New("d").Parse(`<domain type='qemu'>
  <name>{{.Name}}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{{.Tiny}}/vmlinuz</kernel>
    <initrd>{{.Tiny}}/initrd.img</initrd>
    <cmdline>console=ttyS0 loglevel=5</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <controller type='scsi' model='virtio-scsi'/>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{{.Dir}}/disk.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='{{.Dir}}/seed.iso'/>
      <target dev='sda' bus='scsi'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <source network='virtcert'/>
      <mac address='{{.MAC}}'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'><source path='{{.Dir}}/console.log'/><target port='0'/></serial>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
  </devices>
</domain>
`))

// bootTiny boots one tiny guest and waits until `true` runs over SSH.
func bootTiny(ctx context.Context, uri, tiny, parent string) (*guest, error) {
	var rnd [3]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	g := &guest{uri: uri, name: fmt.Sprintf("vcbench-%x", rnd), mac: fmt.Sprintf("52:54:00:%02x:%02x:%02x", rnd[0], rnd[1], rnd[2])}
	var err error
	if g.dir, err = os.MkdirTemp(parent, g.name+"-"); err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := g.prepare(tiny); err != nil {
		return g, err
	}
	var xml bytes.Buffer
	if err := domainTmpl.Execute(&xml, map[string]string{"Name": g.name, "Tiny": tiny, "Dir": g.dir, "MAC": g.mac}); err != nil {
		return g, err
	}
	xmlPath := filepath.Join(g.dir, "domain.xml")
	if err := os.WriteFile(xmlPath, xml.Bytes(), 0o600); err != nil {
		return g, err
	}
	if out, err := g.virsh(ctx, "create", xmlPath); err != nil {
		return g, fmt.Errorf("virsh create: %v: %s", err, out)
	}
	if g.addr, err = g.lease(ctx); err != nil {
		return g, err
	}
	// Poll every 250 ms, as a tight shell loop would.
	c, _, err := vssh.WaitReady(ctx, g.sshConfig(), "true", vssh.ReadyOptions{Backoff: 250 * time.Millisecond, MaxBackoff: 250 * time.Millisecond})
	if err != nil {
		return g, fmt.Errorf("ssh %s never answered: %w", g.addr, err)
	}
	c.Close()
	g.toSSH = time.Since(t0)
	return g, g.writeKnownHosts()
}

// prepare writes the keys, the known_hosts line, the seed and the overlay.
func (g *guest) prepare(tiny string) error {
	var err error
	if g.key, err = guests.NewClientKey("vcbench"); err != nil {
		return err
	}
	if g.host, err = guests.NewHostKey(g.name); err != nil {
		return err
	}
	g.keyFile = filepath.Join(g.dir, "id_ed25519")
	if err := g.key.WritePrivateKey(g.keyFile); err != nil {
		return err
	}
	cfg := seed.Config{InstanceID: g.name, Hostname: g.name, User: "root", AuthorizedKeys: []string{g.key.AuthorizedKey()}, HostKey: g.host}
	if err := seed.WriteFile(filepath.Join(g.dir, "seed.iso"), cfg); err != nil {
		return err
	}
	out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", filepath.Join(tiny, "disk.qcow2"), filepath.Join(g.dir, "disk.qcow2")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu-img: %v: %s", err, out)
	}
	return nil
}

func (g *guest) sshConfig() vssh.Config {
	return vssh.Config{Addr: g.addr, User: "root", Signer: g.key.Signer, HostKey: g.host.PublicKey()}
}

// writeKnownHosts pins the guest's host key for OpenSSH and Ansible.
func (g *guest) writeKnownHosts() error {
	g.knownHosts = filepath.Join(g.dir, "known_hosts")
	return os.WriteFile(g.knownHosts, []byte(g.addr+" "+g.host.AuthorizedKey()+"\n"), 0o600)
}

// sshArgs are the OpenSSH options every baseline uses: the run's key, the
// pinned host key, no agent, no config file.
func (g *guest) sshArgs() []string {
	return []string{"-F", "/dev/null", "-i", g.keyFile, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "UserKnownHostsFile=" + g.knownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10"}
}

func (g *guest) lease(ctx context.Context) (string, error) {
	for {
		out, _ := g.virsh(ctx, "net-dhcp-leases", "virtcert", "--mac", g.mac)
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) >= 5 && strings.EqualFold(f[2], g.mac) && f[3] == "ipv4" {
				ip := strings.Split(f[4], "/")[0]
				if net.ParseIP(ip) != nil {
					return ip, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no DHCP lease for %s: %w", g.mac, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (g *guest) virsh(ctx context.Context, args ...string) ([]byte, error) {
	return exec.CommandContext(ctx, "virsh", append([]string{"-q", "-c", g.uri}, args...)...).CombinedOutput()
}

// destroy stops the domain (its directory goes with the work directory).
func (g *guest) destroy() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g.virsh(ctx, "destroy", g.name)
}
