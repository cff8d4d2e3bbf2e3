package network

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/parse"
)

// sudo prefixes a command that needs root when the login user is not root.
const sudo = `S=; [ "$(id -u)" = 0 ] || S="sudo -n"; `

func init() {
	linux := []string{"linux"}
	reg := func(c suites.Check) {
		c.Area = "network"
		c.OS = linux
		suites.Register(c)
	}
	reg(suites.Check{ID: "network.nic-driver", Keys: []string{"expect"}, Priority: 1, Title: "NICs use the paravirtual driver",
		Doc: "Reads /sys/class/net/*/device/driver for every device-backed Ethernet interface (and " +
			"ethtool -i where present); each must be bound to a driver in the profile's expect list " +
			"(virtio_net on KVM, hv_netvsc on Hyper-V). An emulated NIC (e1000, tulip) fails.",
		Timeout: 3 * time.Minute, Run: runNICDriver, Reads: []string{ProbeNet, ethtoolEach("-i")}})
	reg(suites.Check{ID: "network.link", Keys: []string{"ipv4_per_nic"}, Priority: 1, Title: "Every NIC is up with one IPv4 address",
		Doc:     "operstate of every NIC must be 'up' and `ip addr` must show exactly ipv4_per_nic IPv4 addresses on it.",
		Timeout: 3 * time.Minute, Run: runLink, Reads: []string{ProbeNet}})
	reg(suites.Check{ID: "network.reachability", Keys: []string{"count", "max_loss_percent"}, Priority: 1, Title: "Gateway, controller and peer answer pings without loss",
		Doc: "Pings the default gateway, the controller and (when present) the peer guest `count` times " +
			"each from the guest (busybox or iputils ping); loss must be at most max_loss_percent.",
		Timeout: 4 * time.Minute, Run: runReachability})
	reg(suites.Check{ID: "network.offloads", Keys: []string{"require_on"}, Priority: 2, Title: "Checksum, scatter-gather and TSO offloads on",
		Doc:     "ethtool -k on every NIC; each feature in require_on must be on. SKIPs when the guest has no ethtool.",
		Timeout: 3 * time.Minute, Run: runOffloads, Reads: []string{ethtoolEach("-k")}})
	reg(suites.Check{ID: "network.mtu", Keys: []string{"mtu", "min_max_mtu"}, Priority: 2, Title: "NIC MTU as configured, maximum MTU as the platform allows",
		Doc: "MTU of every NIC equals the profile's mtu (the MTU the platform's network gives the guests its host runs; " +
			"not judged, with the reason, when the host driver cannot report the guest, as for an existing machine); where " +
			"`ip -d link` shows maxmtu it must be at least min_max_mtu.",
		Timeout: 3 * time.Minute, Run: runMTU, Reads: []string{ProbeNet}})
}

func gatherNet(t *suites.T) NetFacts {
	r := t.Run("read interfaces, addresses and routes", ProbeNet)
	if r.Exit != 0 {
		t.Errorf("network probe exited %d", r.Exit)
	}
	return ParseNet(string(r.Stdout))
}

func runNICDriver(t *suites.T) {
	f := gatherNet(t)
	// ethtool -i as a second opinion, where present.
	if r := t.Run("ethtool -i per NIC", ethtoolEach("-i")); r.Exit == 0 {
		for name, out := range parse.Sections(string(r.Stdout)) {
			if d := parse.EthtoolInfo(out)["driver"]; d != "" {
				for _, n := range f.NICs() {
					if n.Name == name && d != n.Driver {
						t.Expect("ethtool -i agrees with sysfs on "+name, false, n.Driver, d, "")
					}
				}
			}
		}
	}
	t.Judge(JudgeNICDriver(f, t.Strings("expect")))
}

// ethtoolEach runs `ethtool OPT` on every NIC, one section per NIC; it
// exits 127 when ethtool is absent. NIC names come from the guest but pass
// through the shell loop as variables, never spliced into the text.
func ethtoolEach(opt string) string {
	return `: vc=ethtool` + strings.TrimPrefix(opt, "-") + `; command -v ethtool >/dev/null 2>&1 || { echo 'ethtool: not found'; exit 127; }; ` +
		`for d in /sys/class/net/*; do [ -e "$d/device" ] || continue; n=${d##*/}; echo "@@@ $n"; ethtool ` + opt + ` "$n" 2>&1; done; true`
}

func runLink(t *suites.T) {
	f := gatherNet(t)
	t.Judge(JudgeLink(f, int(t.Float("ipv4_per_nic"))))
}

func runReachability(t *suites.T) {
	f := gatherNet(t)
	count := int(t.Float("count"))
	var ts []PingTarget
	seen := map[string]bool{}
	add := func(role, addr string) {
		if addr == "" || seen[addr] {
			return
		}
		seen[addr] = true
		// The address is ours (gateway parsed as netip, controller and
		// peer from the runner) and still goes through Quote.
		cmd := fmt.Sprintf(": vc=ping; ping -c %d -W 2 %s 2>&1", count, transport.Quote(addr))
		r := t.Run("ping "+role+" "+addr, cmd)
		ts = append(ts, PingTarget{Role: role, Addr: addr, Out: string(r.Stdout) + string(r.Stderr), Exit: r.Exit})
	}
	if f.Gateway.IsValid() {
		add("gateway", f.Gateway.String())
	}
	add("controller", t.Target.Controller)
	if len(ts) == 0 {
		// No gateway and no controller address from the host driver (the
		// existing driver knows none): the machine the guest's SSH session
		// comes from is still a destination: the controller, or the host
		// when the controller reaches the guest through it.
		role := "controller"
		if t.Target.ViaHost {
			role = "host (the SSH jump to the guest)"
		}
		add(role, sshClient(t))
	}
	if p := t.Target.Peer; p != nil {
		add("peer", hostOnly(p.Address))
	} else {
		t.Evidence(reports.Evidence{Step: "peer", Output: "no peer guest in this run: peer reachability not tested"})
	}
	t.Judge(JudgeReachability(ts, count, t.Float("max_loss_percent")))
}

func runOffloads(t *suites.T) {
	r := t.Run("ethtool -k per NIC", ethtoolEach("-k"))
	if r.Exit == 127 || strings.Contains(string(r.Stdout), "ethtool: not found") {
		t.Skipf("the guest has no ethtool: offloads cannot be read")
	}
	feats := map[string]map[string]parse.Feature{}
	for name, out := range parse.Sections(string(r.Stdout)) {
		feats[name] = parse.EthtoolFeatures(out)
	}
	t.Judge(JudgeOffloads(feats, t.Strings("require_on")))
}

func runMTU(t *suites.T) {
	f := gatherNet(t)
	// The profile's mtu is what this platform's networking gives a guest
	// the host runs; a host that cannot report its guest (an existing
	// machine, on a network virtcert did not set up) gives no expectation.
	mtu := int(t.Float("mtu"))
	_, unknown := t.RunningConfig()
	if unknown != "" {
		mtu = 0
	}
	t.Judge(JudgeMTUFrom(f, mtu, int(t.Float("min_max_mtu")), unknown))
}

func hostOnly(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i > 0 && !strings.Contains(addr[i+1:], ".") {
		if _, err := strconv.Atoi(addr[i+1:]); err == nil && strings.Count(addr, ":") == 1 {
			return addr[:i]
		}
	}
	return addr
}
