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
