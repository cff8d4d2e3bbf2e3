package network_test

import (
	"strings"
	"testing"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites/suitetest"
)

// Whole checks (gather -> parse -> judge -> evidence) on recorded
// transcripts: the fake transport answers each gather command from
// fixtures/transcripts/<platform>/*/healthy.txt, with a faulty variant
// laid over it.
func TestChecksOnTranscripts(t *testing.T) {
	root, err := suitetest.Root()
	if err != nil {
		t.Fatal(err) // the transcripts are part of the repository: never pass by skipping
	}
	cases := []struct {
		platform, check, overlay string
		want                     reports.Status
		reason                   string
	}{
		{"kvm", "network.nic-driver", "", reports.Pass, ""},
		{"kvm", "network.nic-driver", "network/faulty-emulated-nic.txt", reports.Fail, "e1000"},
		{"hyperv-gen1", "network.nic-driver", "", reports.Pass, ""},
		{"hyperv-gen1", "network.nic-driver", "network/faulty-legacy-nic.txt", reports.Fail, "tulip"},
		{"hyperv-gen2", "network.nic-driver", "", reports.Pass, ""},
		{"kvm", "network.link", "", reports.Pass, ""},
		{"kvm", "network.link", "network/faulty-linkdown.txt", reports.Fail, "operstate of enp7s0"},
		{"kvm", "network.link", "network/faulty-two-addresses.txt", reports.Fail, "IPv4 addresses"},
		{"hyperv-gen2", "network.link", "network/faulty-linkdown.txt", reports.Fail, "operstate"},
		{"kvm", "network.reachability", "", reports.Pass, ""},
		{"kvm", "network.reachability", "network/faulty-loss.txt", reports.Fail, "30%"},
		{"hyperv-gen1", "network.reachability", "", reports.Pass, ""},
		// No default route and no controller address from the host driver
		// (the existing driver): the SSH client address is the controller.
		{"kvm", "network.reachability", "network/existing-no-route.txt", reports.Pass, ""},
		{"kvm", "network.offloads", "", reports.Pass, ""},
		{"kvm", "network.offloads", "network/faulty-offloads.txt", reports.Fail, "tx-checksumming"},
		{"kvm", "network.offloads", "network/absent-ethtool.txt", reports.Skip, "no ethtool"},
		{"hyperv-gen2", "network.offloads", "network/faulty-offloads.txt", reports.Fail, "tcp-segmentation-offload"},
		{"kvm", "network.mtu", "", reports.Pass, ""},
		{"kvm", "network.mtu", "network/faulty-mtu.txt", reports.Fail, "1400"},
		{"hyperv-gen2", "network.mtu", "", reports.Pass, ""},
		{"kvm", "network.iface-reload", "", reports.Pass, ""},
		{"kvm", "network.iface-reload", "network/faulty-reload.txt", reports.Fail, "address regained"},
		{"kvm", "network.throughput.peer", "", reports.Skip, "no peer"},
		{"kvm", "network.link-flap", "", reports.Skip, "LinkControl"},
		{"kvm", "network.nic-hotplug", "", reports.Skip, "NICHotplug"},
		{"kvm", "disk.driver", "", reports.Pass, ""},
		{"kvm", "disk.driver", "disk/faulty-emulated-ide.txt", reports.Fail, "ata_piix"},
		{"hyperv-gen1", "disk.driver", "", reports.Pass, ""},
		{"hyperv-gen1", "disk.driver", "disk/faulty-ata-piix.txt", reports.Fail, "ata_piix"},
		{"kvm", "disk.integrity", "", reports.Pass, ""},
		{"kvm", "disk.integrity", "disk/faulty-rofs.txt", reports.Fail, "read-only file system"},
		{"kvm", "disk.integrity", "disk/faulty-corrupt.txt", reports.Fail, "3 of 32768"},
		{"kvm", "disk.integrity", "disk/tiny-rodisk.txt", reports.Fail, "permission denied"},
		{"hyperv-gen2", "disk.integrity", "disk/faulty-corrupt.txt", reports.Fail, "differ"},
		{"kvm", "disk.throughput", "", reports.Pass, ""},
		{"kvm", "disk.throughput", "disk/faulty-slow.txt", reports.Fail, "MB/s"},
		{"hyperv-gen2", "disk.throughput", "", reports.Pass, ""},
		{"kvm", "disk.iops", "", reports.Pass, ""},
		{"kvm", "disk.iops", "disk/faulty-slow.txt", reports.Fail, "IOPS"},
		{"kvm", "disk.block-sizes", "", reports.Pass, ""},
		{"kvm", "disk.block-sizes", "disk/faulty-misaligned.txt", reports.Fail, "sector 63"},
		{"hyperv-gen1", "disk.block-sizes", "", reports.Pass, ""},
		{"kvm", "disk.discard", "", reports.Pass, ""},
		{"kvm", "disk.discard", "disk/faulty-nodiscard.txt", reports.Fail, "granularity 0"},
		{"hyperv-gen2", "disk.discard", "disk/faulty-nodiscard.txt", reports.Fail, "discard"},
		{"kvm", "disk.root-identity", "", reports.Pass, ""},
		{"kvm", "disk.root-identity", "disk/faulty-misaligned.txt", reports.Fail, "/dev/vda1"},
		{"kvm", "disk.root-identity", "disk/tiny-initramfs.txt", reports.Skip, "RAM filesystem"},
		{"hyperv-gen1", "disk.root-identity", "disk/faulty-ata-piix.txt", reports.Fail, "/dev/sda1"},
		{"kvm", "disk.hotplug", "", reports.Skip, "DiskHotplug"},
	}
	for _, c := range cases {
		name := c.platform + "/" + c.check + "/" + strings.TrimSuffix(c.overlay, ".txt")
		t.Run(name, func(t *testing.T) {
			var ov []string
			if c.overlay != "" {
				ov = append(ov, c.overlay)
			}
			x, err := suitetest.Platform(root, c.platform, ov...)
			if err != nil {
				t.Fatal(err)
			}
			// A host that reports the guest it runs (RunningConfig).
			g := &suitetest.CapGuest{Guest: &suitetest.Guest{GuestName: "transcript"}, Running: &drivers.GuestConfig{MemoryMB: 2048, CPUs: 2}}
			tg, err := suitetest.Target(c.platform, x, g)
			if err != nil {
				t.Fatal(err)
			}
			tg.Helper = "/tmp/vcprobe"
			r, err := suitetest.Execute(c.check, tg)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != c.want || !strings.Contains(r.Reason, c.reason) {
				t.Fatalf("got %s, want %s with %q\n%s", r.Status, c.want, c.reason, suitetest.Describe(r))
			}
			if r.Status == reports.Pass && len(r.Evidence) == 0 {
				t.Fatal("PASS without evidence")
			}
		})
	}
}

// TestControllerViaHost: a guest the controller reaches only through its
// host (guest_via: host) has no path to the controller; the guest's
// $SSH_CONNECTION names the host. network.throughput.controller SKIPs
// with that reason, and network.reachability, with no gateway and no
// controller address, pings the SSH client as the host, never calling it
// the controller.
func TestControllerViaHost(t *testing.T) {
	root, err := suitetest.Root()
	if err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, check string, viaHost bool) *reports.Result {
		x, err := suitetest.Platform(root, "kvm", "network/existing-no-route.txt")
		if err != nil {
			t.Fatal(err)
		}
		tg, err := suitetest.Target("kvm", x, &suitetest.Guest{GuestName: "transcript"})
		if err != nil {
			t.Fatal(err)
		}
		tg.Helper, tg.ViaHost = "/tmp/vcprobe", viaHost
		r, err := suitetest.Execute(check, tg)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	steps := func(r *reports.Result) string {
		var s []string
		for _, e := range r.Evidence {
			s = append(s, e.Step)
		}
		return strings.Join(s, "\n")
	}
	r := run(t, "network.throughput.controller", true)
	if r.Status != reports.Skip || !strings.Contains(r.Reason, "guest_via: host") || len(r.Evidence) != 0 {
		t.Errorf("throughput.controller via host: want SKIP naming guest_via: host, before any command\n%s", suitetest.Describe(r))
	}
	for _, c := range []struct {
		viaHost   bool
		role, not string
	}{{false, "ping controller ", "ping host"}, {true, "ping host (the SSH jump to the guest) ", "ping controller"}} {
		r := run(t, "network.reachability", c.viaHost)
		if s := steps(r); r.Status != reports.Pass || !strings.Contains(s, c.role) || strings.Contains(s, c.not) {
			t.Errorf("reachability (via host %v): want PASS pinging %q, never %q\n%s", c.viaHost, c.role, c.not, suitetest.Describe(r))
		}
	}
}
