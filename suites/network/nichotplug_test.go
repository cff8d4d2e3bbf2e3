package network

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/suitetest"
)

// nicGuest is a simulated guest and host for network.nic-hotplug (a fake,
// not a recording): the host attaches a NIC with MAC newMAC, which the
// guest lists as enp8s0 when show is set, with an address when addr is
// set (or once the check starts a DHCP client, when dhcpGives is set).
type nicGuest struct {
	*suitetest.Guest
	mu                    sync.Mutex
	attached              bool
	show, addr, dhcpGives bool
	kernel                string
	ran                   []string
}

const newMAC = "52:54:00:aa:bb:cc"

func (g *nicGuest) AttachNIC(context.Context) (drivers.NICRef, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.attached = true
	return drivers.NICRef{MAC: newMAC}, nil
}

func (g *nicGuest) DetachNIC(context.Context, drivers.NICRef) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.attached = false
	return nil
}

func (g *nicGuest) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ran = append(g.ran, suitetest.Tag(cmd.Cmd))
	out := ""
	switch suitetest.Tag(cmd.Cmd) {
	case "net":
		out = "@@@ links\nenp1s0 operstate=up carrier=1 mtu=1500 address=52:54:00:6b:3c:58 type=1 driver=../../../../bus/virtio/drivers/virtio_net\n"
		if g.attached && g.show {
			out += "enp8s0 operstate=up carrier=1 mtu=1500 address=" + newMAC + " type=1 driver=../../../../bus/virtio/drivers/virtio_net\n"
		}
		out += "lo operstate=unknown carrier=1 mtu=65536 address=00:00:00:00:00:00 type=772 driver=\n@@@ ip-addr\n@@@ route\n@@@ maxmtu\n@@@ netdev\n"
	case "nicwait":
		if !strings.Contains(cmd.Cmd, "mac='"+newMAC+"'") {
			return transport.Result{}, fmt.Errorf("waits for the wrong MAC: %q", cmd.Cmd)
		}
		out = "notfound after_cs=50\n"
		if g.attached && g.show {
			out = "found iface=enp8s0 after_cs=0\n"
		}
	case "nicgone":
		out = "gone after_cs=0\n"
		if g.attached && g.show {
			out = "present after_cs=50\n"
		}
	case "ipaddr":
		out = "noaddr after_cs=20\n"
		if g.addr {
			out = "addr ip=192.168.150.77/24 after_cs=0\n"
		}
	case "dhcpkick":
		g.addr = g.dhcpGives
	case "dmesgmark":
		out = "500\n"
	case "dmesgsince":
		if !strings.Contains(cmd.Cmd, "tail -n +501") {
			return transport.Result{}, fmt.Errorf("kernel log read from the wrong line: %q", cmd.Cmd)
		}
		out = g.kernel
	default:
		return transport.Result{}, fmt.Errorf("unexpected command %.80q", cmd.Cmd)
	}
	return transport.Result{Cmd: cmd.Cmd, Stdout: []byte(out), Duration: time.Millisecond}, nil
}

func (g *nicGuest) Upload(context.Context, string, io.Reader, uint32) error { return nil }
func (g *nicGuest) Download(context.Context, string, io.Writer) error       { return nil }
func (g *nicGuest) Close() error                                            { return nil }

// TestNICHotplugSimulated runs network.nic-hotplug whole on a simulated
// guest and host: a NIC that appears configured PASSes; one the guest
// leaves unconfigured PASSes once the check's DHCP client configures it,
// and the evidence says so; one that never appears, or gets no address,
// or leaves a call trace, FAILs.
func TestNICHotplugSimulated(t *testing.T) {
	saved := nicHotplugTiming
	t.Cleanup(func() { nicHotplugTiming = saved })
	nicHotplugTiming.poll, nicHotplugTiming.grace, nicHotplugTiming.settle = time.Millisecond, 0, 0
	for _, c := range []struct {
		name                  string
		show, addr, dhcpGives bool
		kernel                string
		want                  reports.Status
		evidence              []string
		ran                   string
	}{
		{"configured", true, true, false, "", reports.Pass,
			[]string{"enp8s0 after 0s", "192.168.150.77/24 after 0s (configured by the guest)", `act="gone"`, `act="clean"`},
			"net dmesgmark nicwait ipaddr net nicgone dmesgsince"},
		{"dhcp kicked", true, false, true, "", reports.Pass,
			[]string{"192.168.150.77/24 after", "(after the check started a DHCP client)"}, ""},
		{"no address", true, false, false, "", reports.Fail, []string{`act="no address"`}, ""},
		{"never appears", false, false, false, "", reports.Fail, []string{`act="never appeared (the guest looked for 1s)"`, `act="no address"`}, ""},
		{"call trace", true, true, false, "[  12.0] WARNING: CPU: 1 PID: 9 at net/core/dev.c:1 x\n", reports.Fail,
			[]string{"WARNING: CPU: 1 PID: 9"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := &nicGuest{Guest: &suitetest.Guest{GuestName: "nic"}, show: c.show, addr: c.addr, dhcpGives: c.dhcpGives, kernel: c.kernel}
			tg, err := suitetest.Target("kvm", g, g)
			if err != nil {
				t.Fatal(err)
			}
			tg.Profile = tg.Profile.Override(&suites.Profile{Checks: map[string]map[string]any{
				"network.nic-hotplug": {"appear_seconds": 0.5, "dhcp_seconds": 0.6}}, Source: "test"})
			r, err := suitetest.Execute("network.nic-hotplug", tg)
			if err != nil {
				t.Fatal(err)
			}
			d := suitetest.Describe(r)
			if r.Status != c.want {
				t.Fatalf("status %s, want %s\n%s", r.Status, c.want, d)
			}
			for _, s := range c.evidence {
				if !strings.Contains(d, s) {
					t.Errorf("evidence lacks %q:\n%s", s, d)
				}
			}
			if c.ran != "" && strings.Join(g.ran, " ") != c.ran {
				t.Errorf("guest commands %q, want %q", strings.Join(g.ran, " "), c.ran)
			}
			if g.attached {
				t.Error("the NIC was left attached")
			}
		})
	}
}

// nicWaitCmd run for real by busybox sh (else sh) against a stand-in for /sys/class/net: a
// NIC whose address file shows up 300 ms in is found, by its MAC (the
// host's upper case matches sysfs's lower case) or as a new name when the
// host gives no MAC, timed on the machine's own clock; one that never
// shows is reported not found once the limit has passed.
func TestNICWaitInTheGuest(t *testing.T) {
	for _, c := range []struct {
		name, mac string
		shows     bool
		want      string
	}{
		{"by MAC", "52:54:00:AA:BB:CC", true, "found iface=enp8s0"},
		{"new name", "", true, "found iface=enp8s0"},
		{"never", "52:54:00:aa:bb:cc", false, "notfound"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeNIC(t, dir, "enp1s0", "52:54:00:6b:3c:58")
			if c.shows {
				go func() { time.Sleep(300 * time.Millisecond); writeNIC(t, dir, "enp8s0", newMAC) }()
			}
			cmd := nicWaitCmd(dir, c.mac, map[string]bool{"enp1s0": true, "lo": true}, 1500*time.Millisecond, 50*time.Millisecond)
			start := time.Now()
			sh := []string{"sh", "-c", cmd}
			if bb, err := exec.LookPath("busybox"); err == nil {
				sh = []string{bb, "sh", "-c", cmd} // the tiny guest's shell
			}
			out, err := exec.Command(sh[0], sh[1:]...).CombinedOutput()
			took := time.Since(start)
			if err != nil || !strings.HasPrefix(string(out), c.want+" ") {
				t.Fatalf("got %q (%v), want %q", out, err, c.want)
			}
			iface, after, found := parseNICWait(string(out))
			switch {
			case c.shows && (!found || iface != "enp8s0" || after < 200*time.Millisecond || after > took+20*time.Millisecond):
				t.Errorf("found=%v %q after %s (took %s), want enp8s0 after about 0.3s", found, iface, after, took)
			case !c.shows && (found || after < 1500*time.Millisecond):
				t.Errorf("found=%v after %s, want not found after the 1.5s limit", found, after)
			}
		})
	}
}

// writeNIC makes dir/name/address as sysfs shows it (lower case), the
// directory appearing whole.
func writeNIC(t *testing.T, dir, name, mac string) {
	tmp := filepath.Join(dir, "."+name)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Error(err)
		return
	}
	if err := os.WriteFile(filepath.Join(tmp, "address"), []byte(mac+"\n"), 0o644); err != nil {
		t.Error(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Error(err)
	}
}

// nicAddrCmd run for real by sh and busybox sh (the tiny guest's shell)
// on this machine: lo's address is found at once; an interface that does
// not exist is reported without an address once the limit has passed.
func TestNICAddrWaitInTheGuest(t *testing.T) {
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip command here")
	}
	shells := [][]string{{"sh"}}
	if bb, err := exec.LookPath("busybox"); err == nil {
		shells = append(shells, []string{bb, "sh"})
	}
	for _, sh := range shells {
		out, err := exec.Command(sh[0], append(sh[1:], "-c", nicAddrCmd("lo", time.Second, 50*time.Millisecond))...).CombinedOutput()
		if a, after := parseNICAddr(string(out)); err != nil || a != "127.0.0.1/8" || after > 500*time.Millisecond {
			t.Errorf("%v, lo: %q after %s (%q, %v), want 127.0.0.1/8 at once", sh, a, after, out, err)
		}
		out, err = exec.Command(sh[0], append(sh[1:], "-c", nicAddrCmd("vcnone0", 600*time.Millisecond, 50*time.Millisecond))...).CombinedOutput()
		if a, after := parseNICAddr(string(out)); err != nil || a != "" || after < 600*time.Millisecond {
			t.Errorf("%v, no such NIC: %q after %s (%q, %v), want none after 0.6s", sh, a, after, out, err)
		}
	}
}

// nicGoneCmd run for real by busybox sh (else sh) against a stand-in for /sys/class/net: a
// NIC removed 300 ms in is reported gone; one that stays (found by name,
// or by its MAC under another name) is reported present at the limit.
func TestNICGoneInTheGuest(t *testing.T) {
	for _, c := range []struct {
		name, dirName string
		removed       bool
		want          string
	}{
		{"removed", "enp8s0", true, "gone "},
		{"stays", "enp8s0", false, "present "},
		{"stays renamed", "eth5", false, "present "},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeNIC(t, dir, "enp1s0", "52:54:00:6b:3c:58")
			writeNIC(t, dir, c.dirName, newMAC)
			if c.removed {
				go func() { time.Sleep(300 * time.Millisecond); os.RemoveAll(filepath.Join(dir, c.dirName)) }()
			}
			sh := []string{"sh", "-c", nicGoneCmd(dir, "enp8s0", "52:54:00:AA:BB:CC", time.Second, 50*time.Millisecond)}
			if bb, err := exec.LookPath("busybox"); err == nil {
				sh = append([]string{bb}, sh...) // the tiny guest's shell
			}
			out, err := exec.Command(sh[0], sh[1:]...).CombinedOutput()
			if err != nil || !strings.HasPrefix(string(out), c.want) {
				t.Errorf("got %q (%v), want %q...", out, err, c.want)
			}
		})
	}
}
