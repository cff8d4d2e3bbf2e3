// Package network holds the Linux networking checks. Each check gathers
// (one batched guest session where it can), parses (suites/parse) and
// judges with a pure function of the parsed data and profile values; the
// judges are unit-tested on fixtures/transcripts/*/network.
package network

import (
	"cmp"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/parse"
)

// linksProbe prints one line per interface (parse.NetLinks).
const linksProbe = suites.ShellReaders + `for d in /sys/class/net/*; do n=${d##*/}; l="$n"; ` +
	`for f in operstate carrier mtu address type; do vc_get $d/$f; l="$l $f=$vc_v"; done; ` +
	`vc_link $d/device/driver; echo "$l driver=$vc_v"; done`

// ProbeNet reads every interface's sysfs state, addresses and routes in
// one session. The "links" line format is parsed by parse.NetLinks.
var ProbeNet = suites.Sections("net",
	[2]string{"links", linksProbe},
	[2]string{"ip-addr", `ip addr show`},
	[2]string{"route", `ip route show default`},
	[2]string{"maxmtu", `ip -d link show 2>/dev/null | grep -o '^[0-9]*: [^:@]*\|maxmtu [0-9]*'`},
	[2]string{"netdev", `cat /proc/net/dev`},
)

// NetFacts is what ProbeNet yields.
type NetFacts struct {
	Links  []parse.NetLink
	Ifaces []parse.Iface
	// Gateway is the default route's gateway (invalid when none).
	Gateway    netip.Addr
	GatewayDev string
	// MaxMTU per interface from `ip -d link` (absent with busybox ip).
	MaxMTU map[string]int
	Stats  map[string]parse.NetDevStats
}

// ParseNet parses ProbeNet output.
func ParseNet(out string) NetFacts {
	s := parse.Sections(out)
	f := NetFacts{Links: parse.NetLinks(s["links"]), Ifaces: parse.IPAddr(s["ip-addr"]), MaxMTU: map[string]int{}, Stats: parse.ProcNetDev(s["netdev"])}
	f.Gateway, f.GatewayDev, _ = parse.DefaultGateway(s["route"])
	cur := ""
	for _, l := range strings.Split(s["maxmtu"], "\n") {
		l = strings.TrimSpace(l)
		if n, ok := strings.CutPrefix(l, "maxmtu "); ok && cur != "" {
			f.MaxMTU[cur], _ = strconv.Atoi(n)
			continue
		}
		if _, name, ok := strings.Cut(l, ": "); ok {
			cur = strings.TrimSpace(name)
		}
	}
	return f
}

// NICs returns the device-backed Ethernet interfaces, sorted by name.
func (f NetFacts) NICs() []parse.NetLink {
	var out []parse.NetLink
	for _, l := range f.Links {
		if l.Physical() {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Iface returns the `ip addr` view of name.
func (f NetFacts) Iface(name string) (parse.Iface, bool) {
	for _, i := range f.Ifaces {
		if i.Name == name {
			return i, true
		}
	}
	return parse.Iface{}, false
}

// JudgeNICDriver: every NIC is bound to one of the expected drivers
// (virtio_net on KVM, hv_netvsc on Hyper-V). No NIC at all fails.
func JudgeNICDriver(f NetFacts, expect []string) suites.Verdict {
	var v suites.Verdict
	nics := f.NICs()
	var all []string
	for _, l := range f.Links {
		if l.Type == 1 {
			all = append(all, l.Name+"("+cmp.Or(l.Driver, "(none)")+")")
		}
	}
	v.Add("guest has a device-backed NIC", len(nics) > 0, "at least one NIC bound to "+strings.Join(expect, " or "),
		fmt.Sprintf("%d NIC(s): %s", len(nics), strings.Join(all, " ")), "", "expect")
	for _, n := range nics {
		v.Add("driver of "+n.Name, in(expect, n.Driver), strings.Join(expect, " or "), n.Driver, "", "expect")
	}
	return v
}

// JudgeLink: every NIC is operstate up with exactly perNIC IPv4 addresses.
func JudgeLink(f NetFacts, perNIC int) suites.Verdict {
	var v suites.Verdict
	nics := f.NICs()
	if len(nics) == 0 {
		v.Add("NICs present", false, "at least one NIC", "none", "", "")
		return v
	}
	for _, n := range nics {
		v.Add("operstate of "+n.Name, n.OperState == "up", "up", cmp.Or(n.OperState, "(none)"), "", "")
		i, _ := f.Iface(n.Name)
		addrs := prefixes(i.IPv4)
		v.Add("IPv4 addresses on "+n.Name, len(i.IPv4) == perNIC, fmt.Sprintf("exactly %d", perNIC),
			fmt.Sprintf("%d (%s)", len(i.IPv4), cmp.Or(addrs, "(none)")), "", "ipv4_per_nic")
	}
	return v
}

// PingTarget is one destination of the reachability check.
type PingTarget struct {
	Role string // "gateway", "controller", "peer"
	Addr string
	Out  string // ping output
	Exit int
}

// JudgeReachability: every destination answered count pings with at most
// maxLoss percent loss.
func JudgeReachability(ts []PingTarget, count int, maxLoss float64) suites.Verdict {
	var v suites.Verdict
	if len(ts) == 0 {
		v.Add("destinations to ping", false, "a gateway or controller address", "none known", "", "")
		return v
	}
	for _, tg := range ts {
		p := parse.Ping(tg.Out)
		if !p.OK {
			v.Add(fmt.Sprintf("ping %s %s", tg.Role, tg.Addr), false, fmt.Sprintf("%d replies", count),
				fmt.Sprintf("no ping summary (exit %d): %s", tg.Exit, parse.FirstLine(tg.Out)), "", "count")
			continue
		}
		v.Add(fmt.Sprintf("packet loss to %s %s", tg.Role, tg.Addr), p.Transmitted >= count && p.LossPercent <= maxLoss,
			fmt.Sprintf("<= %g%% over %d packets", maxLoss, count),
			fmt.Sprintf("%g%% (%d/%d received, avg rtt %.2f ms)", p.LossPercent, p.Received, p.Transmitted, p.AvgRTTms),
			fmt.Sprintf("%g%%", maxLoss), "max_loss_percent")
	}
	return v
}

// JudgeOffloads: each required feature is on, on every NIC.
func JudgeOffloads(feats map[string]map[string]parse.Feature, require []string) suites.Verdict {
	var v suites.Verdict
	names := make([]string, 0, len(feats))
	for n := range feats {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		v.Add("ethtool -k output", false, "features of at least one NIC", "none parsed", "", "")
	}
	for _, n := range names {
		fs := feats[n]
		if len(fs) == 0 {
			v.Add("ethtool -k "+n, false, "a feature list", "no features parsed", "", "")
			continue
		}
		for _, r := range require {
			f, ok := fs[r]
			act := "absent"
			if ok {
				act = onOff(f.On)
				if f.Fixed {
					act += " [fixed]"
				}
			}
			v.Add(n+" "+r, ok && f.On, "on", act, "", "require_on")
		}
	}
	return v
}

// JudgeMTU: every NIC runs at the expected MTU, and where `ip -d` shows
// the maximum, it is at least minMax.
func JudgeMTU(f NetFacts, mtu, minMax int) suites.Verdict { return JudgeMTUFrom(f, mtu, minMax, "") }

// JudgeMTUFrom is JudgeMTU where the expected MTU may be unknown (mtu 0:
// the host cannot report the guest, so the platform's MTU is no
// expectation for it); those steps are not judged, with unknown as the
// reason, and the maximum MTU is still judged.
func JudgeMTUFrom(f NetFacts, mtu, minMax int, unknown string) suites.Verdict {
	var v suites.Verdict
	nics := f.NICs()
	if len(nics) == 0 {
		v.Add("NICs present", false, "at least one NIC", "none", "", "")
	}
	for _, n := range nics {
		if mtu > 0 {
			v.Add("MTU of "+n.Name, n.MTU == mtu, strconv.Itoa(mtu), strconv.Itoa(n.MTU), "", "mtu")
		} else {
			v.NotJudged("MTU of "+n.Name, "the MTU of the host's network", fmt.Sprintf("%s (guest MTU %d)", unknown, n.MTU), "mtu")
		}
		if mx, ok := f.MaxMTU[n.Name]; ok {
			v.Add("max MTU of "+n.Name, mx >= minMax, ">= "+strconv.Itoa(minMax), strconv.Itoa(mx), "", "min_max_mtu")
		}
	}
	return v
}

func prefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func in(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func secs(key string, t *suites.T) time.Duration {
	return time.Duration(t.Float(key) * float64(time.Second))
}
