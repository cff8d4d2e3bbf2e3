package parse

import (
	"net/netip"
	"strconv"
	"strings"
)

// Iface is one interface as `ip addr` (iproute2 or busybox, multi-line or
// -o one-line) shows it.
type Iface struct {
	Index int
	Name  string
	Flags []string // from <...>: UP, LOWER_UP, BROADCAST...
	MTU   int
	State string // "UP", "DOWN", "UNKNOWN"
	MAC   string
	IPv4  []netip.Prefix
	IPv6  []netip.Prefix
}

// IPAddr parses `ip addr show` or `ip -o addr show` output. Interfaces keep
// the order they were first seen; unparseable lines are skipped.
func IPAddr(out string) []Iface {
	var ifs []*Iface
	byName := map[string]*Iface{}
	var cur *Iface
	get := func(idx int, name string) *Iface {
		name = strings.TrimSuffix(name, ":")
		if at := strings.IndexByte(name, '@'); at > 0 {
			name = name[:at] // eth0.10@eth0
		}
		if i, ok := byName[name]; ok {
			return i
		}
		i := &Iface{Index: idx, Name: name}
		byName[name] = i
		ifs = append(ifs, i)
		return i
	}
	for _, raw := range strings.Split(out, "\n") {
		// -o output folds continuation lines with a backslash.
		for _, l := range strings.Split(raw, "\\") {
			f := strings.Fields(l)
			if len(f) == 0 {
				continue
			}
			if strings.HasSuffix(f[0], ":") {
				idx, err := strconv.Atoi(strings.TrimSuffix(f[0], ":"))
				if err != nil || len(f) < 2 {
					continue
				}
				cur = get(idx, f[1])
				f = f[2:]
				if len(f) > 0 && strings.HasPrefix(f[0], "<") {
					cur.Flags = strings.Split(strings.Trim(f[0], "<>"), ",")
					f = f[1:]
				}
			}
			if cur == nil {
				continue
			}
			parseAttrs(cur, f)
		}
	}
	out2 := make([]Iface, len(ifs))
	for i, p := range ifs {
		out2[i] = *p
	}
	return out2
}

func parseAttrs(cur *Iface, f []string) {
	for i := 0; i+1 < len(f); i++ {
		switch f[i] {
		case "mtu":
			if n, err := strconv.Atoi(f[i+1]); err == nil {
				cur.MTU = n
			}
		case "state":
			cur.State = f[i+1]
		case "link/ether":
			cur.MAC = strings.ToLower(f[i+1])
		case "inet":
			if p, err := netip.ParsePrefix(f[i+1]); err == nil && p.Addr().Is4() {
				cur.IPv4 = append(cur.IPv4, p)
			} else if a, err := netip.ParseAddr(f[i+1]); err == nil && a.Is4() {
				cur.IPv4 = append(cur.IPv4, netip.PrefixFrom(a, 32))
			}
		case "inet6":
			if p, err := netip.ParsePrefix(f[i+1]); err == nil {
				cur.IPv6 = append(cur.IPv6, p)
			}
		}
	}
}

// DefaultGateway parses `ip route show default` (or full `ip route`) and
// returns the first default route's gateway and device.
func DefaultGateway(out string) (gw netip.Addr, dev string, ok bool) {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 3 || (f[0] != "default" && f[0] != "0.0.0.0/0") {
			continue
		}
		for i := 1; i+1 < len(f); i++ {
			switch f[i] {
			case "via":
				if a, err := netip.ParseAddr(f[i+1]); err == nil {
					gw = a
				}
			case "dev":
				dev = f[i+1]
			}
		}
		if gw.IsValid() {
			return gw, dev, true
		}
	}
	return netip.Addr{}, "", false
}

// NetLink is one interface as the sysfs link probe prints it:
// "NAME key=value key=value ..." (operstate, carrier, mtu, address,
// driver, type, maxmtu), one interface per line.
type NetLink struct {
	Name      string
	OperState string
	Carrier   string
	MTU       int
	MAC       string
	Driver    string // "" for virtual interfaces (no device/driver link)
	Type      int    // ARPHRD: 1 ether, 772 loopback
}

// Physical reports whether the interface is backed by a device (a NIC, not
// lo, a bridge or a tunnel).
func (l NetLink) Physical() bool { return l.Driver != "" && l.Type == 1 }

// NetLinks parses the sysfs link probe output.
func NetLinks(out string) []NetLink {
	var ls []NetLink
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.Contains(f[0], "=") {
			continue
		}
		l := NetLink{Name: f[0], Type: -1}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			switch k {
			case "operstate":
				l.OperState = v
			case "carrier":
				l.Carrier = v
			case "mtu":
				l.MTU, _ = strconv.Atoi(v)
			case "address":
				l.MAC = strings.ToLower(v)
			case "driver":
				l.Driver = baseName(v)
			case "type":
				if n, err := strconv.Atoi(v); err == nil {
					l.Type = n
				}
			}
		}
		ls = append(ls, l)
	}
	return ls
}

// NetDevStats is one row of /proc/net/dev.
type NetDevStats struct {
	Name                               string
	RxBytes, RxPackets, RxErrs, RxDrop uint64
	TxBytes, TxPackets, TxErrs, TxDrop uint64
}

// ProcNetDev parses /proc/net/dev.
func ProcNetDev(out string) map[string]NetDevStats {
	m := map[string]NetDevStats{}
	for _, l := range strings.Split(out, "\n") {
		name, rest, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		name = strings.TrimSpace(name)
		f := strings.Fields(rest)
		if name == "" || strings.Contains(name, "|") || len(f) < 16 {
			continue
		}
		n := make([]uint64, 16)
		bad := false
		for i := 0; i < 16; i++ {
			v, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				bad = true
				break
			}
			n[i] = v
		}
		if bad {
			continue
		}
		m[name] = NetDevStats{Name: name, RxBytes: n[0], RxPackets: n[1], RxErrs: n[2], RxDrop: n[3],
			TxBytes: n[8], TxPackets: n[9], TxErrs: n[10], TxDrop: n[11]}
	}
	return m
}

// PingResult is the summary of a ping run (iputils or busybox).
type PingResult struct {
	Transmitted, Received int
	LossPercent           float64
	AvgRTTms              float64 // 0 when no reply
	OK                    bool    // the summary line was found
}

// Ping parses ping's summary: "5 packets transmitted, 5 (packets)
// received, 0% packet loss" and "rtt/round-trip min/avg/max... = a/b/c".
func Ping(out string) PingResult {
	var r PingResult
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "packets transmitted") {
			parts := strings.Split(l, ",")
			for _, p := range parts {
				f := strings.Fields(p)
				if len(f) < 2 {
					continue
				}
				switch {
				case strings.HasPrefix(f[1], "packets") && len(f) >= 3 && f[2] == "transmitted":
					r.Transmitted, _ = strconv.Atoi(f[0])
				case f[1] == "received" || (f[1] == "packets" && len(f) >= 3 && f[2] == "received"):
					r.Received, _ = strconv.Atoi(f[0])
				case strings.HasSuffix(f[0], "%") && f[1] == "packet":
					r.LossPercent, _ = strconv.ParseFloat(strings.TrimSuffix(f[0], "%"), 64)
				}
			}
			r.OK = r.Transmitted > 0
		}
		if i := strings.Index(l, "min/avg/max"); i >= 0 {
			if _, v, ok := strings.Cut(l[i:], "="); ok {
				fv := strings.Fields(v)
				if len(fv) == 0 {
					continue
				}
				xs := strings.Split(fv[0], "/")
				if len(xs) >= 2 {
					r.AvgRTTms, _ = strconv.ParseFloat(xs[1], 64)
				}
			}
		}
	}
	return r
}
