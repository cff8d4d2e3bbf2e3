package windows

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/virtcert/virtcert/suites"
)

func init() {
	reg(suites.Check{ID: "windows.network.link", Priority: 1, Title: "NIC is up with one IPv4 address",
		Doc: "Inventory: `Get-NetAdapter -Physical` (Status as text) and `Get-NetIPAddress -AddressFamily IPv4`: at least one " +
			"physical adapter is Up, and every Up adapter has exactly one IPv4 address, none of them APIPA (169.254/16: DHCP failed).",
		Run: runLink})
	reg(suites.Check{ID: "windows.network.mtu", Priority: 2, Title: "NIC MTU as the profile expects",
		Keys: []string{"mtu"},
		Doc:  "Inventory: `Get-NetAdapter -Physical | Select MtuSize`: every Up adapter's MtuSize equals the profile's mtu.",
		Run:  runMTU})
	reg(suites.Check{ID: "windows.network.offloads", Priority: 2, Title: "Checksum offload and LSO are on",
		Doc: "Inventory: `Get-NetAdapterChecksumOffload` (TcpIPv4Enabled, UdpIPv4Enabled as text) and `Get-NetAdapterLso` " +
			"(IPv4Enabled) for each Up adapter: RxTxEnabled and True.",
		Run: runOffloads})
	reg(suites.Check{ID: "windows.network.reachability", Priority: 1, Title: "Controller and peer answer pings",
		Keys: []string{"count", "max_loss_percent"},
		Doc: "`Test-Connection -Count <count>` to the controller (and to the peer guest when the plan has one), its address " +
			"validated as an IP and passed as a script-block argument: replies (StatusCode 0) lose at most max_loss_percent.",
		Run: runReach})
}

func upAdapters(inv *Inventory) []Adapter {
	var out []Adapter
	for _, a := range inv.Adapters {
		if a.Status == "Up" {
			out = append(out, a)
		}
	}
	return out
}

// JudgeLink checks that NICs are up with one IPv4 address each.
func JudgeLink(inv *Inventory) suites.Verdict {
	var v suites.Verdict
	up := upAdapters(inv)
	var all []string
	for _, a := range inv.Adapters {
		all = append(all, fmt.Sprintf("%s (%s): %s", a.Name, a.InterfaceDescription, a.Status))
	}
	v.Add("physical adapters Up", len(up) > 0, "at least one Up", orNone(all), "", "")
	for _, a := range up {
		var addrs []string
		apipa := false
		for _, ip := range inv.IPv4 {
			if strings.EqualFold(ip.InterfaceAlias, a.Name) {
				addrs = append(addrs, ip.IPAddress+" ("+ip.PrefixOrigin+")")
				apipa = apipa || strings.HasPrefix(ip.IPAddress, "169.254.")
			}
		}
		v.Add("IPv4 addresses of "+a.Name, len(addrs) == 1 && !apipa, "exactly one, not 169.254/16", orNone(addrs), "", "")
	}
	return v
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, "; ")
}

func runLink(t *suites.T) { t.Judge(JudgeLink(inventory(t))) }

// JudgeMTU checks every Up adapter's MtuSize.
func JudgeMTU(inv *Inventory, mtu int) suites.Verdict {
	var v suites.Verdict
	for _, a := range upAdapters(inv) {
		v.Add("MtuSize of "+a.Name, a.MtuSize == mtu, fmt.Sprint(mtu), fmt.Sprint(a.MtuSize), "", "mtu")
	}
	return v
}

func runMTU(t *suites.T) { t.Judge(JudgeMTU(inventory(t), int(t.Float("mtu")))) }

// JudgeOffloads checks checksum offload and LSO on each Up adapter.
func JudgeOffloads(inv *Inventory) suites.Verdict {
	var v suites.Verdict
	for _, a := range upAdapters(inv) {
		cs, lso := "no Get-NetAdapterChecksumOffload row", "no Get-NetAdapterLso row"
		csOK, lsoOK := false, false
		for _, c := range inv.Checksum {
			if c.Name == a.Name {
				cs = "TCP " + c.TcpIPv4Enabled + ", UDP " + c.UdpIPv4Enabled
				csOK = c.TcpIPv4Enabled == "RxTxEnabled" && c.UdpIPv4Enabled == "RxTxEnabled"
			}
		}
		for _, l := range inv.LSO {
			if l.Name == a.Name {
				lso, lsoOK = fmt.Sprintf("IPv4Enabled %v", l.IPv4Enabled), l.IPv4Enabled
			}
		}
		v.Add("IPv4 checksum offload on "+a.Name, csOK, "TCP RxTxEnabled, UDP RxTxEnabled", cs, "", "")
		v.Add("large send offload (IPv4) on "+a.Name, lsoOK, "IPv4Enabled True", lso, "", "")
	}
	return v
}

func runOffloads(t *suites.T) { t.Judge(JudgeOffloads(inventory(t))) }

const reachMarker = "# virtcert: windows reachability"

// probeReach pings $Target; the address is the only argument, validated
// as an IP address before it is quoted (pingCommand).
const probeReach = reachMarker + `
& { param([string]$Target, [int]$Count)
  $r = @(Test-Connection -ComputerName $Target -Count $Count -ErrorAction SilentlyContinue | Where-Object { $_.StatusCode -eq 0 })
  [ordered]@{ target = $Target; sent = $Count; received = $r.Count } | ConvertTo-Json -Compress }`

// pingCommand appends the validated arguments to probeReach.
func pingCommand(addr string, count int) (string, error) {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return "", fmt.Errorf("not an IP address: %q", addr)
	}
	return fmt.Sprintf("%s -Target '%s' -Count %d", probeReach, a.String(), count), nil
}

// Ping is the reachability script's answer.
type Ping struct {
	Target   string `json:"target"`
	Sent     int    `json:"sent"`
	Received int    `json:"received"`
}

// JudgePing checks the loss of one ping run.
func JudgePing(who string, p Ping, maxLoss float64) suites.Verdict {
	var v suites.Verdict
	loss := 100.0
	if p.Sent > 0 {
		loss = 100 * float64(p.Sent-p.Received) / float64(p.Sent)
	}
	v.Add("ping "+who+" "+p.Target, p.Sent > 0 && loss <= maxLoss, fmt.Sprintf("loss <= %g%%", maxLoss),
		fmt.Sprintf("%d of %d replies (%.0f%% loss)", p.Received, p.Sent, loss), fmt.Sprintf("%g%%", maxLoss), "max_loss_percent")
	return v
}

func runReach(t *suites.T) {
	count, maxLoss := int(t.Float("count")), t.Float("max_loss_percent")
	targets := [][2]string{}
	if t.Target.Controller != "" {
		targets = append(targets, [2]string{"controller", t.Target.Controller})
	}
	if t.Target.Peer != nil && t.Target.Peer.Address != "" {
		targets = append(targets, [2]string{"peer", t.Target.Peer.Address})
	}
	if len(targets) == 0 {
		t.Skipf("no controller address known for this guest and no peer: nothing to ping")
	}
	var v suites.Verdict
	for _, tg := range targets {
		cmd, err := pingCommand(tg[1], count)
		if err != nil {
			t.Errorf("%s address: %v", tg[0], err)
		}
		r := t.Run("ping the "+tg[0], cmd)
		var p Ping
		if err := json.Unmarshal([]byte(lastJSON(string(r.Stdout))), &p); err != nil || r.Exit != 0 {
			t.Errorf("ping script output did not parse (exit %d): %q", r.Exit, firstLine(string(r.Stdout)))
		}
		v.Items = append(v.Items, JudgePing(tg[0], p, maxLoss).Items...)
	}
	t.Judge(v)
}
