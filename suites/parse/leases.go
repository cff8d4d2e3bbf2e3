package parse

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Lease is one DHCP lease.
type Lease struct {
	MAC      string
	IP       netip.Addr
	Hostname string
	ClientID string
	Expires  time.Time // zero for infinite leases
}

// DnsmasqLeases parses a dnsmasq lease file: "EXPIRY MAC IP HOSTNAME
// CLIENTID" per line (EXPIRY in epoch seconds, 0 = infinite; "*" for an
// unknown hostname or client ID). IPv6 "duid" lines are skipped.
func DnsmasqLeases(out string) []Lease {
	var ls []Lease
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 4 || f[0] == "duid" {
			continue
		}
		exp, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || exp < 0 {
			continue
		}
		ip, err := netip.ParseAddr(f[2])
		if err != nil {
			continue
		}
		le := Lease{MAC: strings.ToLower(f[1]), IP: ip}
		if exp > 0 {
			le.Expires = time.Unix(exp, 0).UTC()
		}
		if f[3] != "*" {
			le.Hostname = f[3]
		}
		if len(f) > 4 && f[4] != "*" {
			le.ClientID = f[4]
		}
		ls = append(ls, le)
	}
	return ls
}

// LibvirtLeases parses libvirt's network status file
// (/var/lib/libvirt/dnsmasq/<bridge>.status): a JSON array of objects
// with "ip-address", "mac-address", "hostname", "client-id", "expiry-time".
func LibvirtLeases(out string) ([]Lease, error) {
	out = strings.TrimSpace(out)
	if out == "" {
		return nil, nil // libvirt writes an empty file before the first lease
	}
	var raw []struct {
		IP       string          `json:"ip-address"`
		MAC      string          `json:"mac-address"`
		Hostname string          `json:"hostname"`
		ClientID string          `json:"client-id"`
		Expiry   json.RawMessage `json:"expiry-time"`
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		return nil, err
	}
	var ls []Lease
	for _, r := range raw {
		ip, err := netip.ParseAddr(r.IP)
		if err != nil {
			continue
		}
		le := Lease{MAC: strings.ToLower(r.MAC), IP: ip, Hostname: r.Hostname, ClientID: r.ClientID}
		// expiry-time is a number in libvirt >= 1.2.x; older wrote it
		// as a string.
		s := strings.Trim(string(r.Expiry), `"`)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
			le.Expires = time.Unix(n, 0).UTC()
		}
		ls = append(ls, le)
	}
	return ls, nil
}

// LeaseFor returns the newest unexpired lease for mac at now.
func LeaseFor(ls []Lease, mac string, now time.Time) (Lease, bool) {
	mac = strings.ToLower(mac)
	var best Lease
	found := false
	for _, l := range ls {
		if l.MAC != mac || (!l.Expires.IsZero() && l.Expires.Before(now)) {
			continue
		}
		if !found || l.Expires.IsZero() || (!best.Expires.IsZero() && l.Expires.After(best.Expires)) {
			best, found = l, true
		}
	}
	return best, found
}
