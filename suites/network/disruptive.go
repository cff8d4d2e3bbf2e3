package network

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/parse"
)

func init() {
	reg := func(c suites.Check) {
		c.Area, c.OS, c.Disruptive = "network", []string{"linux"}, true
		suites.Register(c)
	}
	reg(suites.Check{ID: "network.link-flap", Keys: []string{"down_seconds", "regain_seconds"}, Priority: 2, Title: "Link down/up from the host: operstate follows, address regained",
		Needs: []string{"LinkControl"},
		Doc: "A guest-side monitor logs operstate and IPv4 count every second while the host sets the " +
			"NIC's link down for down_seconds and up again (virDomainSetInterfaceLink / " +
			"Disconnect-VMNetworkAdapter). The log must show 'down', then 'up' with an address within " +
			"regain_seconds. The second NIC is used when there is one.",
		Timeout: 3 * time.Minute, Run: runLinkFlap})
	reg(suites.Check{ID: "network.nic-hotplug", Keys: []string{"appear_seconds", "dhcp_seconds"}, Priority: 2, Title: "NIC hot-add gets DHCP, removal leaves no call trace",
		Needs: []string{"NICHotplug"},
		Doc: "The host attaches a NIC live; it must appear within appear_seconds (one guest command polls " +
			"/sys/class/net for its MAC and times the wait on the guest's clock) and hold an IPv4 " +
			"address within dhcp_seconds. The host detaches it; it must vanish, and dmesg since the " +
			"attach must hold no call trace, BUG or WARNING.",
		Timeout: 4 * time.Minute, Run: runNICHotplug})
	reg(suites.Check{ID: "network.iface-reload", Keys: []string{"cycles", "regain_seconds"}, Priority: 2, Title: "ip link down/up cycles regain the address",
		Doc: "`ip link set dev IF down; up` `cycles` times (the second NIC when there is one); after " +
			"each cycle the interface must be up with an IPv4 address within regain_seconds.",
		Timeout: 5 * time.Minute, Run: runIfaceReload})
}

// FlapSample is one line of the guest-side flap monitor.
type FlapSample struct {
	State string
	Addrs int
}

// ParseFlapLog parses "STATE NADDRS" lines.
func ParseFlapLog(out string) []FlapSample {
	var s []FlapSample
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		s = append(s, FlapSample{State: f[0], Addrs: n})
	}
	return s
}

// JudgeLinkFlap: the monitor saw the link go down while the host held it
// down, then come back up with an address.
func JudgeLinkFlap(nic string, s []FlapSample) suites.Verdict {
	var v suites.Verdict
	down := -1
	for i, x := range s {
		if x.State != "up" && x.State != "unknown" {
			down = i
		}
	}
	seq := make([]string, len(s))
	for i, x := range s {
		seq[i] = x.State + "/" + strconv.Itoa(x.Addrs)
	}
	v.Add("operstate of "+nic+" while the host held the link down", down >= 0, "down (or lowerlayerdown)", compact(seq), "", "down_seconds")
	regained := false
	if down >= 0 {
		for _, x := range s[down+1:] {
			if x.State == "up" && x.Addrs > 0 {
				regained = true
			}
		}
	}
	v.Add("link up with an IPv4 address after the host restored it", regained, "up with >= 1 IPv4", compact(seq), "", "regain_seconds")
	return v
}

func compact(seq []string) string {
	var out []string
	for i, s := range seq {
		if i > 0 && seq[i-1] == s {
			continue
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return "(no samples)"
	}
	return strings.Join(out, " -> ")
}

// pickNIC chooses the NIC a disruptive check works on: the second one when
// there is one (so the harness keeps its path over the first), else the
// first. The guest name is matched to the host's NIC index by MAC when the
// driver lists MACs.
func pickNIC(t *suites.T, f NetFacts) (idx int, name string) {
	nics := f.NICs()
	if len(nics) == 0 {
		t.Fatalf("the guest has no device-backed NIC")
	}
	idx = 0
	if len(nics) > 1 {
		idx = 1
	}
	name = nics[idx].Name
	if m, ok := t.Target.Guest.(drivers.MACs); ok {
		if macs, err := m.MACs(t.Context()); err == nil && idx < len(macs) {
			for _, n := range nics {
				if strings.EqualFold(n.MAC, macs[idx]) {
					name = n.Name
				}
			}
			t.Evidence(reports.Evidence{Step: "host NIC to guest interface", Output: fmt.Sprintf("host NIC %d has MAC %s: guest %s", idx, macs[idx], name)})
			return idx, name
		}
	}
	t.Evidence(reports.Evidence{Step: "host NIC to guest interface", Output: fmt.Sprintf("driver lists no MACs: assuming host NIC %d is guest %s (interfaces in name order)", idx, name)})
	return idx, name
}

func runLinkFlap(t *suites.T) {
	lc := suites.Need[drivers.LinkControl](t, "LinkControl")
	f := gatherNet(t)
	idx, name := pickNIC(t, f)
	down := secs("down_seconds", t)
	regain := secs("regain_seconds", t)
	samples := int((down + regain).Seconds()) + 5
	q := transport.Quote(name)
	mon := fmt.Sprintf(`: vc=flapmon; n=%s; rm -f /tmp/vc-flap.log; (i=0; while [ $i -lt %d ]; do `+
		`echo "$(cat /sys/class/net/$n/operstate) $(ip -4 -o addr show dev $n 2>/dev/null | grep -c inet)" >> /tmp/vc-flap.log; `+
		`sleep 1; i=$((i+1)); done) </dev/null >/dev/null 2>&1 &`, q, samples)
	if r := t.Run("start operstate monitor in the guest", mon); r.Exit != 0 {
		t.Errorf("monitor did not start (exit %d)", r.Exit)
	}
	ctx := t.Context()
	restored := false
	t.Cleanup(func() {
		if !restored {
			_ = lc.SetLink(ctx, idx, true)
		}
	})
	time.Sleep(2 * time.Second)
	if err := lc.SetLink(ctx, idx, false); err != nil {
		t.Errorf("host: set link %d down: %v", idx, err)
	}
	t.Evidence(reports.Evidence{Step: "host: link down", Command: fmt.Sprintf("host: SetLink(nic=%d, up=false)", idx)})
	time.Sleep(down)
	if err := lc.SetLink(ctx, idx, true); err != nil {
		t.Errorf("host: set link %d up: %v", idx, err)
	}
	restored = true
	t.Evidence(reports.Evidence{Step: "host: link up", Command: fmt.Sprintf("host: SetLink(nic=%d, up=true)", idx)})
	deadline := time.Now().Add(regain)
	var s []FlapSample
	for {
		time.Sleep(2 * time.Second)
		r, err := t.Target.OS.Run(ctx, transport.Command{Cmd: ": vc=flaplog; cat /tmp/vc-flap.log", Timeout: 15 * time.Second})
		if err == nil && r.Exit == 0 {
			s = ParseFlapLog(string(r.Stdout))
			if v := JudgeLinkFlap(name, s); !v.Failed() {
				break
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			if err != nil && t.Target.Reconnect != nil {
				if x, rerr := t.Target.Reconnect(ctx); rerr == nil {
					t.Target.OS = x
					continue
				}
			}
			break
		}
	}
	t.Run("operstate log", ": vc=flaplog; cat /tmp/vc-flap.log; rm -f /tmp/vc-flap.log")
	t.Judge(JudgeLinkFlap(name, s))
}

// HotplugObs is what the NIC hotplug check observed.
type HotplugObs struct {
	MAC         string
	Appeared    bool
	AppearAfter time.Duration
	Iface       string
	AddrAfter   time.Duration
	Addr        string
	DHCPKicked  bool // the guest did not configure it; the check started a DHCP client
	Gone        bool
	Traces      []string // call-trace lines in dmesg since the attach
}

// JudgeNICHotplug judges a NIC hot-add/remove.
func JudgeNICHotplug(o HotplugObs, appear, dhcp time.Duration) suites.Verdict {
	var v suites.Verdict
	v.Add("hot-added NIC "+o.MAC+" appears", o.Appeared && o.AppearAfter <= appear, fmt.Sprintf("within %s", appear),
		ifElse(o.Appeared, fmt.Sprintf("%s after %s (guest clock, from the end of the host's attach)", o.Iface, o.AppearAfter.Round(time.Second)),
			fmt.Sprintf("never appeared (the guest looked for %s)", o.AppearAfter.Round(time.Second))), "", "appear_seconds")
	how := "configured by the guest"
	if o.DHCPKicked {
		how = "after the check started a DHCP client"
	}
	v.Add("hot-added NIC gets a DHCP address", o.Addr != "" && o.AddrAfter <= dhcp, fmt.Sprintf("IPv4 within %s", dhcp),
		ifElse(o.Addr != "", fmt.Sprintf("%s after %s (%s)", o.Addr, o.AddrAfter.Round(time.Second), how), "no address"), "", "dhcp_seconds")
	v.Add("hot-removed NIC disappears", o.Gone, "gone", ifElse(o.Gone, "gone", "still present"), "", "")
	v.Add("kernel log since attach", len(o.Traces) == 0, "no call trace, BUG or WARNING", ifElse(len(o.Traces) == 0, "clean", strings.Join(o.Traces, " | ")), "", "")
	return v
}

// TraceLines returns the dmesg lines that show a kernel problem.
func TraceLines(dmesg string) []string {
	var out []string
	for _, l := range parse.Dmesg(dmesg) {
		for _, p := range []string{"Call Trace", "BUG:", "WARNING: CPU", "Oops:", "general protection fault"} {
			if strings.Contains(l.Text, p) {
				out = append(out, strings.TrimSpace(l.Text))
				break
			}
		}
	}
	return out
}

func ifElse(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}

const dmesgMark = `: vc=dmesgmark; S=; [ "$(id -u)" = 0 ] || S="sudo -n"; $S dmesg | wc -l`

func dmesgSince(mark int) string {
	return fmt.Sprintf(`: vc=dmesgsince; S=; [ "$(id -u)" = 0 ] || S="sudo -n"; $S dmesg | tail -n +%d`, mark+1)
}

// nicHotplugTiming paces the NIC hotplug check: its polls, the time it
// looks for the NIC beyond appear_seconds, and the wait for late warnings
// after the removal. Tests shorten them.
var nicHotplugTiming = struct{ poll, grace, settle time.Duration }{time.Second, 5 * time.Second, 2 * time.Second}

func runNICHotplug(t *suites.T) {
	hp := suites.Need[drivers.NICHotplug](t, "NICHotplug")
	appear := secs("appear_seconds", t)
	dhcp := secs("dhcp_seconds", t)
	ctx := t.Context()
	before := gatherNet(t)
	known := map[string]bool{}
	for _, n := range before.NICs() {
		known[n.Name] = true
	}
	mark, _ := strconv.Atoi(strings.TrimSpace(string(t.Run("dmesg line count before attach", dmesgMark).Stdout)))
	start := time.Now()
	ref, err := hp.AttachNIC(ctx)
	t.HostStep("host: attach NIC", "AttachNIC", "MAC "+ref.MAC, err, time.Since(start))
	t.HostFailed("attach NIC", err)
	detached := false
	t.Cleanup(func() {
		if !detached {
			_ = hp.DetachNIC(ctx, ref)
		}
	})
	o := watchNIC(t, ref, known)
	if o.Appeared {
		waitNICAddr(t, &o, dhcp)
	}
	t.Run("new interface state", ProbeNet)
	detachStart := time.Now()
	err = hp.DetachNIC(ctx, ref)
	t.HostStep("host: detach NIC", "DetachNIC "+ref.MAC, "", err, time.Since(detachStart))
	t.HostFailed("detach NIC", err)
	detached = true
	o.Gone = watchNICGone(t, o.Iface, ref.MAC, appear)
	time.Sleep(nicHotplugTiming.settle) // late warnings from the removal path
	r := t.Run("kernel log since attach", dmesgSince(mark))
	o.Traces = TraceLines(string(r.Stdout))
	t.Judge(JudgeNICHotplug(o, appear, dhcp))
}

// watchNIC waits for the hot-added NIC inside the guest: one command
// polls /sys/class/net for its MAC (or, when the host reports none, for a
// name not in known) until it shows or appear+grace passes, and times the
// wait on the guest's own clock from the end of the host's attach. Under
// load a controller-side loop of round trips could miss the deadline
// although the guest saw the NIC in time.
func watchNIC(t *suites.T, ref drivers.NICRef, known map[string]bool) HotplugObs {
	o := HotplugObs{MAC: ref.MAC}
	limit := nicHotplugLimit(t)
	r := t.Run("wait in the guest for the hot-added NIC (guest clock)", nicWaitCmd("/sys/class/net", ref.MAC, known, limit, nicHotplugTiming.poll))
	o.Iface, o.AppearAfter, o.Appeared = parseNICWait(string(r.Stdout))
	return o
}

// nicHotplugLimit is how long the guest looks for the NIC: appear_seconds
// and the grace beyond it (a late NIC is reported late, not missed).
func nicHotplugLimit(t *suites.T) time.Duration {
	return secs("appear_seconds", t) + nicHotplugTiming.grace
}

// nicWaitCmd polls dir (/sys/class/net) in the guest for an interface
// with mac (any case), or, when mac is "", for a name not in known,
// until limit passes on the guest's clock (/proc/uptime, centiseconds:
// busybox has no date +%N). It prints "found iface=NAME after_cs=N" or
// "notfound after_cs=N".
func nicWaitCmd(dir, mac string, known map[string]bool, limit, poll time.Duration) string {
	names := " "
	for _, n := range slices.Sorted(maps.Keys(known)) {
		names += n + " "
	}
	return fmt.Sprintf(`: vc=nicwait; dir=%s; mac=%s; known=%s; lim=%d; `+
		guestClock+
		`while :; do for d in "$dir"/*; do n=${d##*/}; [ -e "$d" ] || continue; `+
		`if [ -n "$mac" ]; then a=$(tr A-F a-f <"$d/address" 2>/dev/null); [ "$a" = "$mac" ] || continue; `+
		`else case "$known" in *" $n "*) continue;; esac; fi; echo "found iface=$n after_cs=$(( $(now) - s ))"; exit 0; done; `+
		`e=$(( $(now) - s )); [ "$e" -ge "$lim" ] && { echo "notfound after_cs=$e"; exit 0; }; sleep %s 2>/dev/null || sleep 1; done`,
		transport.Quote(dir), transport.Quote(strings.ToLower(mac)), transport.Quote(names), limit.Milliseconds()/10,
		pollArg(poll))
}

// guestClock is the wait scripts' clock, a Sprintf format fragment: now()
// is the guest's uptime in centiseconds (/proc/uptime: busybox has no
// date +%%N), and s the time the wait began.
const guestClock = `now() { read u _ </proc/uptime; echo $(( ${u%%.*} * 100 + 1${u#*.} - 100 )); }; s=$(now); `

// pollArg is the wait scripts' sleep between looks, in seconds (at
// least 0.01).
func pollArg(poll time.Duration) string {
	return strconv.FormatFloat(max(poll.Seconds(), 0.01), 'f', 2, 64)
}

// parseNICWait reads nicWaitCmd's output.
func parseNICWait(out string) (iface string, after time.Duration, found bool) {
	for _, l := range parse.KVLines(out) {
		cs, err := strconv.Atoi(l.KV["after_cs"])
		if err != nil {
			continue
		}
		after = time.Duration(cs) * 10 * time.Millisecond
		if l.Name == "found" && l.KV["iface"] != "" {
			return l.KV["iface"], after, true
		}
	}
	return "", after, false
}

// waitNICAddr waits inside the guest for the new NIC's first IPv4
// address, on the guest's clock; when the guest has not configured it a
// third of dhcp_seconds in, the check starts a DHCP client on it (and o
// says so) and waits again. AddrAfter counts from the end of the host's
// attach: the appearance, the waits and the DHCP client's run.
func waitNICAddr(t *suites.T, o *HotplugObs, dhcp time.Duration) {
	q := transport.Quote(o.Iface)
	first := dhcp / 3
	addr, after := nicAddrWait(t, o.Iface, first, "wait in the guest for the new NIC's address (guest clock)")
	if addr == "" {
		o.DHCPKicked = true
		r := t.Run("guest did not configure the new NIC: start a DHCP client", ": vc=dhcpkick; "+sudo+"$S ip link set dev "+q+" up; "+
			"if command -v udhcpc >/dev/null; then $S udhcpc -n -q -t 10 -i "+q+"; "+
			"elif command -v dhclient >/dev/null; then $S dhclient -1 "+q+"; "+
			"elif command -v networkctl >/dev/null; then $S networkctl reconfigure "+q+"; fi")
		rest := max(dhcp-first-r.Duration, 0) + nicHotplugTiming.grace
		var again time.Duration
		addr, again = nicAddrWait(t, o.Iface, rest, "wait in the guest for the address after the DHCP client (guest clock)")
		after += r.Duration + again
	}
	if addr != "" {
		o.Addr, o.AddrAfter = addr, o.AppearAfter+after
	}
}

// nicAddrWait runs one guest command that polls iface for an IPv4 address
// until limit passes on the guest's clock, and returns the address ("":
// none) and the time it waited.
func nicAddrWait(t *suites.T, iface string, limit time.Duration, step string) (string, time.Duration) {
	r := t.Run(step, nicAddrCmd(iface, limit, nicHotplugTiming.poll))
	return parseNICAddr(string(r.Stdout))
}

// nicAddrCmd polls iface in the guest for an IPv4 address until limit
// passes on the guest's clock. It prints "addr ip=A/N after_cs=N" or
// "noaddr after_cs=N".
func nicAddrCmd(iface string, limit, poll time.Duration) string {
	return fmt.Sprintf(`: vc=ipaddr; n=%s; lim=%d; `+
		guestClock+
		`while :; do a=$(ip -4 -o addr show dev "$n" 2>/dev/null | sed -n 's/.* inet \([0-9.\/]*\).*/\1/p' | head -n 1); e=$(( $(now) - s )); `+
		`[ -n "$a" ] && { echo "addr ip=$a after_cs=$e"; exit 0; }; [ "$e" -ge "$lim" ] && { echo "noaddr after_cs=$e"; exit 0; }; `+
		`sleep %s 2>/dev/null || sleep 1; done`,
		transport.Quote(iface), limit.Milliseconds()/10, pollArg(poll))
}

// parseNICAddr reads nicAddrCmd's output.
func parseNICAddr(out string) (string, time.Duration) {
	for _, l := range parse.KVLines(out) {
		if cs, err := strconv.Atoi(l.KV["after_cs"]); err == nil {
			return l.KV["ip"], time.Duration(cs) * 10 * time.Millisecond
		}
	}
	return "", 0
}

// watchNICGone waits inside the guest until neither iface nor mac is
// listed in /sys/class/net, or within passes on the guest's clock.
func watchNICGone(t *suites.T, iface, mac string, within time.Duration) bool {
	r := t.Run("wait in the guest for the removed NIC to go (guest clock)", nicGoneCmd("/sys/class/net", iface, mac, within, nicHotplugTiming.poll))
	return strings.HasPrefix(strings.TrimSpace(string(r.Stdout)), "gone ")
}

// nicGoneCmd polls dir in the guest until no interface is named iface or
// has mac (any case), or limit passes on the guest's clock. It prints
// "gone after_cs=N" or "present after_cs=N".
func nicGoneCmd(dir, iface, mac string, limit, poll time.Duration) string {
	return fmt.Sprintf(`: vc=nicgone; dir=%s; n=%s; mac=%s; lim=%d; `+
		guestClock+
		`while :; do p=; for d in "$dir"/*; do [ -e "$d" ] || continue; [ "${d##*/}" = "$n" ] && p=1; `+
		`[ -n "$mac" ] && [ "$(tr A-F a-f <"$d/address" 2>/dev/null)" = "$mac" ] && p=1; done; e=$(( $(now) - s )); `+
		`[ -z "$p" ] && { echo "gone after_cs=$e"; exit 0; }; [ "$e" -ge "$lim" ] && { echo "present after_cs=$e"; exit 0; }; `+
		`sleep %s 2>/dev/null || sleep 1; done`,
		transport.Quote(dir), transport.Quote(iface), transport.Quote(strings.ToLower(mac)), limit.Milliseconds()/10,
		pollArg(poll))
}

// ReloadCycle is one line of the reload loop's output.
type ReloadCycle struct {
	N         int
	Regained  int // seconds until an IPv4 address was present
	Addrs     int
	OperState string
}

// ParseReload parses "cycle N regained_after=Ts addrs=K operstate=S".
func ParseReload(out string) []ReloadCycle {
	var cs []ReloadCycle
	for _, l := range parse.KVLines(out) {
		if l.Name != "cycle" {
			continue
		}
		var c ReloadCycle
		c.Regained, _ = strconv.Atoi(strings.TrimSuffix(l.KV["regained_after"], "s"))
		c.Addrs, _ = strconv.Atoi(l.KV["addrs"])
		c.OperState = l.KV["operstate"]
		c.N = len(cs) + 1
		cs = append(cs, c)
	}
	return cs
}

// JudgeReload: every cycle ended up with an address within regain, and
// the loop ran all cycles.
func JudgeReload(nic string, cs []ReloadCycle, cycles int, regain time.Duration) suites.Verdict {
	var v suites.Verdict
	v.Add("down/up cycles completed on "+nic, len(cs) == cycles, strconv.Itoa(cycles), strconv.Itoa(len(cs)), "", "cycles")
	for _, c := range cs {
		ok := c.Addrs > 0 && c.OperState == "up" && time.Duration(c.Regained)*time.Second <= regain
		v.Add(fmt.Sprintf("cycle %d: address regained", c.N), ok, fmt.Sprintf("up with IPv4 within %s", regain),
			fmt.Sprintf("%s with %d IPv4 after %ds", cmp.Or(c.OperState, "(none)"), c.Addrs, c.Regained), "", "regain_seconds")
	}
	return v
}

func runIfaceReload(t *suites.T) {
	f := gatherNet(t)
	nics := f.NICs()
	if len(nics) == 0 {
		t.Fatalf("the guest has no device-backed NIC")
	}
	name := nics[0].Name
	if len(nics) > 1 {
		name = nics[1].Name
	}
	cycles := int(t.Float("cycles"))
	regain := int(t.Float("regain_seconds"))
	// One session runs every cycle: when the NIC is the one the harness
	// uses, the TCP connection rides out the short outages.
	cmd := fmt.Sprintf(`: vc=reload; `+sudo+`n=%s; i=1; while [ $i -le %d ]; do $S ip link set dev "$n" down; sleep 1; `+
		`$S ip link set dev "$n" up; t=0; c=0; while [ $t -lt %d ]; do c=$(ip -4 -o addr show dev "$n" | grep -c inet); `+
		`[ "$(cat /sys/class/net/$n/operstate)" = up ] && [ "$c" -ge 1 ] && break; sleep 1; t=$((t+1)); done; `+
		`echo "cycle regained_after=${t}s addrs=$c operstate=$(cat /sys/class/net/$n/operstate) default_routes=$(ip route show default | grep -c .)"; i=$((i+1)); done`,
		transport.Quote(name), cycles, regain)
	r := t.Run(fmt.Sprintf("ip link down/up x%d on %s", cycles, name), cmd)
	t.Judge(JudgeReload(name, ParseReload(string(r.Stdout)), cycles, time.Duration(regain)*time.Second))
}
