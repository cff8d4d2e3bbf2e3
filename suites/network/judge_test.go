package network

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/parse"
)

// transcript reads fixtures/transcripts/<rel>.
func transcript(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "transcripts", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// record returns the stdout of the "@@ tag: tag" record of a transcript
// file (the suitetest format), so judges can be run on it directly.
func record(t *testing.T, rel, tag string) string {
	t.Helper()
	s := transcript(t, rel)
	var out []string
	in := false
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "@@ tag:") || strings.HasPrefix(l, "@@ match:") {
			if in {
				break
			}
			in = strings.TrimSpace(l[len("@@ tag:"):]) == tag
			continue
		}
		if in && !strings.HasPrefix(l, "@@ exit:") {
			out = append(out, l)
		}
	}
	if !in && len(out) == 0 {
		t.Fatalf("%s: no record for tag %s", rel, tag)
	}
	return strings.Join(out, "\n")
}

func mustPass(t *testing.T, name string, v suites.Verdict) {
	t.Helper()
	if v.Failed() || len(v.Items) == 0 || v.Skip != "" {
		t.Errorf("%s: want PASS, got\n%s", name, v)
	}
}

func mustFail(t *testing.T, name string, v suites.Verdict, want string) {
	t.Helper()
	if !v.Failed() {
		t.Errorf("%s: want FAIL, got\n%s", name, v)
		return
	}
	if !strings.Contains(strings.Join(v.Failures(), "\n"), want) {
		t.Errorf("%s: failures %q do not mention %q", name, v.Failures(), want)
	}
}

func netf(t *testing.T, rel string) NetFacts { return ParseNet(record(t, rel, "net")) }

func TestJudgeNICDriver(t *testing.T) {
	mustPass(t, "kvm healthy", JudgeNICDriver(netf(t, "kvm/network/healthy.txt"), []string{"virtio_net"}))
	mustPass(t, "gen1 healthy", JudgeNICDriver(netf(t, "hyperv-gen1/network/healthy.txt"), []string{"hv_netvsc"}))
	mustPass(t, "gen2 healthy", JudgeNICDriver(netf(t, "hyperv-gen2/network/healthy.txt"), []string{"hv_netvsc"}))
	mustFail(t, "kvm e1000", JudgeNICDriver(netf(t, "kvm/network/faulty-emulated-nic.txt"), []string{"virtio_net"}), "e1000")
	mustFail(t, "gen1 tulip", JudgeNICDriver(netf(t, "hyperv-gen1/network/faulty-legacy-nic.txt"), []string{"hv_netvsc"}), "tulip")
	// The same KVM guest judged against Hyper-V expectations fails.
	mustFail(t, "kvm on hyperv profile", JudgeNICDriver(netf(t, "kvm/network/healthy.txt"), []string{"hv_netvsc"}), "virtio_net")
	mustFail(t, "no NIC", JudgeNICDriver(ParseNet("@@@ links\nlo operstate=unknown type=772 driver=\n"), []string{"virtio_net"}), "0 NIC")
}

func TestJudgeLink(t *testing.T) {
	for _, p := range []string{"kvm", "hyperv-gen1", "hyperv-gen2"} {
		mustPass(t, p+" healthy", JudgeLink(netf(t, p+"/network/healthy.txt"), 1))
	}
	mustFail(t, "kvm second NIC down", JudgeLink(netf(t, "kvm/network/faulty-linkdown.txt"), 1), "down")
	mustFail(t, "gen2 no carrier", JudgeLink(netf(t, "hyperv-gen2/network/faulty-linkdown.txt"), 1), "down")
	mustFail(t, "two addresses", JudgeLink(netf(t, "kvm/network/faulty-two-addresses.txt"), 1), "2 (192.168.150.123/24,192.168.150.201/24)")
}

func TestJudgeReachability(t *testing.T) {
	ok := []PingTarget{{Role: "gateway", Addr: "192.168.150.1", Out: record(t, "kvm/network/healthy.txt", "ping")}}
	mustPass(t, "healthy", JudgeReachability(ok, 10, 0))
	loss := []PingTarget{{Role: "gateway", Addr: "192.168.150.1", Out: record(t, "kvm/network/faulty-loss.txt", "ping"), Exit: 1}}
	mustFail(t, "30% loss", JudgeReachability(loss, 10, 0), "30%")
	// The same loss passes a profile that tolerates it: the threshold is data.
	mustPass(t, "tolerated", JudgeReachability(loss, 10, 50))
	dead := []PingTarget{{Role: "gateway", Addr: "192.168.150.1", Out: record(t, "kvm/network/faulty-unreachable.txt", "ping"), Exit: 1}}
	mustFail(t, "unreachable", JudgeReachability(dead, 10, 0), "100%")
	mustFail(t, "no ping binary", JudgeReachability([]PingTarget{{Role: "gateway", Addr: "x", Out: "sh: ping: not found", Exit: 127}}, 10, 0), "no ping summary")
	mustFail(t, "nothing to ping", JudgeReachability(nil, 10, 0), "none known")
}

func offloads(t *testing.T, rel string) map[string]map[string]parse.Feature {
	m := map[string]map[string]parse.Feature{}
	for n, out := range parse.Sections(record(t, rel, "ethtoolk")) {
		m[n] = parse.EthtoolFeatures(out)
	}
	return m
}

var requireOn = []string{"rx-checksumming", "tx-checksumming", "scatter-gather", "tcp-segmentation-offload"}

func TestJudgeOffloads(t *testing.T) {
	for _, p := range []string{"kvm", "hyperv-gen1", "hyperv-gen2"} {
		mustPass(t, p+" healthy", JudgeOffloads(offloads(t, p+"/network/healthy.txt"), requireOn))
		mustFail(t, p+" offloads off", JudgeOffloads(offloads(t, p+"/network/faulty-offloads.txt"), requireOn), "off")
	}
}

func TestJudgeMTU(t *testing.T) {
	mustPass(t, "kvm", JudgeMTU(netf(t, "kvm/network/healthy.txt"), 1500, 65535))
	mustPass(t, "gen2", JudgeMTU(netf(t, "hyperv-gen2/network/healthy.txt"), 1500, 65521))
	mustFail(t, "mtu 1400", JudgeMTU(netf(t, "kvm/network/faulty-mtu.txt"), 1500, 65535), "1400")
	mustFail(t, "e1000 max mtu", JudgeMTU(netf(t, "kvm/network/faulty-emulated-nic.txt"), 1500, 65535), "16110")
}

func TestJudgeThroughput(t *testing.T) {
	ok, err := vcprobeTCP([]byte(transcript(t, "kvm/network/vcprobe-tcp-ok.json")))
	if err != nil {
		t.Fatal(err)
	}
	ip, err := parse.Iperf3(transcript(t, "kvm/network/iperf3-ok.json"))
	if err != nil {
		t.Fatal(err)
	}
	flows := []Flow{flowFrom("guest->controller", ok, nil), {Name: "guest->controller", Source: "iperf3", Mbps: ip.ReceivedBitsPerSec / 1e6}}
	mustPass(t, "kvm 10G", JudgeThroughput(flows, 2000))
	slow, err := vcprobeTCP([]byte(transcript(t, "kvm/network/vcprobe-tcp-slow.json")))
	if err != nil {
		t.Fatal(err)
	}
	v := JudgeThroughput([]Flow{flowFrom("guest->controller", slow, nil)}, 2000)
	mustFail(t, "slow", v, "187.9 Mbit/s")
	mustFail(t, "idle streams", v, "2 of 4 idle")
	r, err := vcprobeTCP([]byte(transcript(t, "kvm/network/vcprobe-tcp-refused.json")))
	mustFail(t, "refused", JudgeThroughput([]Flow{flowFrom("guest->controller", r, err)}, 50), "no route to host")
	if ir, err := parse.Iperf3(transcript(t, "kvm/network/iperf3-refused.json")); err != nil || ir.Error == "" {
		t.Errorf("iperf3 error not surfaced: %+v %v", ir, err)
	}
	mustFail(t, "nothing", JudgeThroughput(nil, 1), "none")
	// iperf3 failing to run is not a guest fault; vcprobe is still judged.
	mixed := []Flow{flowFrom("guest->controller", ok, nil), {Name: "guest->controller", Source: "iperf3", Err: "unable to connect to server"}}
	mustPass(t, "iperf3 error ignored", JudgeThroughput(mixed, 2000))
}

func TestJudgeLinkFlap(t *testing.T) {
	mustPass(t, "kvm", JudgeLinkFlap("enp1s0", ParseFlapLog(record(t, "kvm/network/healthy.txt", "flaplog"))))
	mustPass(t, "gen1 lowerlayerdown", JudgeLinkFlap("eth0", ParseFlapLog(record(t, "hyperv-gen1/network/healthy.txt", "flaplog"))))
	mustFail(t, "stuck", JudgeLinkFlap("enp1s0", ParseFlapLog(record(t, "kvm/network/faulty-flap-stuck.txt", "flaplog"))), "up/1 -> down/1")
	mustFail(t, "ignored", JudgeLinkFlap("enp1s0", ParseFlapLog(record(t, "kvm/network/faulty-flap-ignored.txt", "flaplog"))), "up/1")
	mustFail(t, "no samples", JudgeLinkFlap("enp1s0", nil), "no samples")
}

func TestJudgeReload(t *testing.T) {
	mustPass(t, "healthy", JudgeReload("enp1s0", ParseReload(record(t, "kvm/network/healthy.txt", "reload")), 10, 30*time.Second))
	mustFail(t, "lost address", JudgeReload("enp1s0", ParseReload(record(t, "kvm/network/faulty-reload.txt", "reload")), 10, 30*time.Second), "0 IPv4")
	mustFail(t, "loop died", JudgeReload("enp1s0", nil, 10, 30*time.Second), "0")
}

func TestJudgeNICHotplug(t *testing.T) {
	good := HotplugObs{MAC: "52:54:00:1f:aa:01", Appeared: true, AppearAfter: 3 * time.Second, Iface: "enp7s0",
		Addr: "192.168.150.180/24", AddrAfter: 9 * time.Second, Gone: true, Traces: TraceLines(transcript(t, "kvm/network/dmesg-hotplug-clean.txt"))}
	mustPass(t, "clean", JudgeNICHotplug(good, 30*time.Second, 60*time.Second))
	bad := good
	bad.Traces = TraceLines(transcript(t, "kvm/network/dmesg-hotplug-trace.txt"))
	mustFail(t, "call trace", JudgeNICHotplug(bad, 30*time.Second, 60*time.Second), "Call Trace")
	never := HotplugObs{MAC: "52:54:00:1f:aa:01", Gone: true}
	mustFail(t, "never appeared", JudgeNICHotplug(never, 30*time.Second, 60*time.Second), "never appeared")
	noDHCP := good
	noDHCP.Addr = ""
	mustFail(t, "no lease", JudgeNICHotplug(noDHCP, 30*time.Second, 60*time.Second), "no address")
}

func TestLeases(t *testing.T) {
	d := parse.DnsmasqLeases(transcript(t, "kvm/network/dnsmasq.leases"))
	if len(d) != 3 || d[0].Hostname != "debian-guest" || d[1].Hostname != "" || !d[2].Expires.IsZero() {
		t.Fatalf("dnsmasq: %+v", d)
	}
	l, err := parse.LibvirtLeases(transcript(t, "kvm/network/libvirt-vcbr0.status"))
	if err != nil || len(l) != 2 {
		t.Fatal(l, err)
	}
	now := time.Unix(1763767800, 0)
	if got, ok := parse.LeaseFor(l, "52:54:00:6B:3C:58", now); !ok || got.IP.String() != "192.168.150.123" {
		t.Errorf("lease for MAC: %+v %v", got, ok)
	}
	if _, ok := parse.LeaseFor(l, "52:54:00:6b:3c:58", now.Add(24*time.Hour)); ok {
		t.Error("expired lease returned")
	}
}

func TestHostOnly(t *testing.T) {
	for in, want := range map[string]string{"192.0.2.1:22": "192.0.2.1", "192.0.2.1": "192.0.2.1", "fe80::1": "fe80::1"} {
		if got := hostOnly(in); got != want {
			t.Errorf("hostOnly(%q) = %q", in, got)
		}
	}
}

// TestProfiles: every built-in profile carries every value the network
// checks read, with the right type.
func TestProfiles(t *testing.T) {
	ps, err := suites.BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	floats := map[string][]string{
		"network.link": {"ipv4_per_nic"}, "network.reachability": {"count", "max_loss_percent"},
		"network.mtu": {"mtu", "min_max_mtu"}, "network.throughput.controller": {"min_mbps", "duration_seconds", "streams"},
		"network.throughput.peer": {"min_mbps", "duration_seconds", "streams"}, "network.link-flap": {"down_seconds", "regain_seconds"},
		"network.nic-hotplug": {"appear_seconds", "dhcp_seconds"}, "network.iface-reload": {"cycles", "regain_seconds"},
	}
	lists := map[string][]string{"network.nic-driver": {"expect"}, "network.offloads": {"require_on"}}
	for _, name := range []string{"kvm", "kvm-tcg", "hyperv-gen1", "hyperv-gen2"} {
		p := ps[name]
		if p == nil {
			t.Fatalf("no profile %s", name)
		}
		for id, keys := range floats {
			for _, k := range keys {
				if _, err := p.Float(id, k); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
		}
		for id, keys := range lists {
			for _, k := range keys {
				if _, err := p.Strings(id, k); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
		}
	}
	if e, _ := ps["hyperv-gen1"].Strings("network.nic-driver", "expect"); len(e) != 1 || e[0] != "hv_netvsc" {
		t.Errorf("hyperv expect %v", e)
	}
}

func TestMedianFlowAndAgreement(t *testing.T) {
	// Interleaved rounds: the median ignores one load spike and a failed
	// round; the gap between the tools' medians is reported.
	vc := MedianFlow([]Flow{
		{Name: "guest->controller", Source: "vcprobe", Mbps: 300, PerStream: []int64{1, 2}},
		{Name: "guest->controller", Source: "vcprobe", Err: "reset"},
		{Name: "guest->controller", Source: "vcprobe", Mbps: 90},
		{Name: "guest->controller", Source: "vcprobe", Mbps: 310},
	})
	if vc.Mbps != 300 || vc.Err != "" || len(vc.PerStream) != 2 {
		t.Fatalf("median of 90/300/310: %+v", vc)
	}
	ip := MedianFlow([]Flow{{Name: "guest->controller", Source: "iperf3", Mbps: 280}, {Name: "guest->controller", Source: "iperf3", Mbps: 320}})
	if ip.Mbps != 300 {
		t.Fatalf("median of two: %+v", ip)
	}
	if f := MedianFlow([]Flow{{Name: "x", Source: "vcprobe", Err: "refused"}}); f.Err != "refused" {
		t.Fatalf("all rounds failed must carry the error: %+v", f)
	}
	ip.Mbps = 200
	a := Agreement([]Flow{vc, ip})
	if len(a) != 1 || !strings.Contains(a[0], "iperf3 200.0 vs vcprobe 300.0 Mbit/s (33.3% apart)") {
		t.Fatalf("agreement: %q", a)
	}
	// iperf3 far below the floor while vcprobe passes: tool disagreement
	// is evidence, not a guest FAIL.
	mustPass(t, "iperf3 slow, vcprobe fine", JudgeThroughput([]Flow{vc, {Name: "guest->controller", Source: "iperf3", Mbps: 1}}, 100))
}

// TestFlowSpread: the spread line a certification reports beside the
// median leaves failed rounds out.
func TestFlowSpread(t *testing.T) {
	got := FlowSpread([]Flow{{Mbps: 900}, {Err: "reset"}, {Mbps: 1000}, {Mbps: 800}})
	if got != "3 rounds: median 900.0 Mbit/s, min 800.0, max 1000.0, spread 22.2% of the median" {
		t.Fatalf("FlowSpread: %q", got)
	}
}
