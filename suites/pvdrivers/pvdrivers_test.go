package pvdrivers

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/suites/parse"
)

func TestJudgeParavirtual(t *testing.T) {
	net := parse.Device{Bus: "virtio", Name: "virtio0", Kind: "net", Want: "virtio_net", Driver: "virtio_net"}
	blk := parse.Device{Bus: "virtio", Name: "virtio1", Kind: "block", Want: "virtio_blk", Driver: "virtio_blk"}
	scsi := parse.Device{Bus: "virtio", Name: "virtio2", Kind: "scsi", Want: "virtio_scsi", Driver: "virtio_scsi"}
	unbound := net
	unbound.Driver = ""
	req := []string{"virtio_net", "virtio_blk|virtio_scsi"}
	for _, c := range []struct {
		name string
		devs []parse.Device
		nic  string
		fail string
	}{
		{"virtio-blk", []parse.Device{net, blk}, "", ""},
		{"virtio-scsi satisfies the disk alternative", []parse.Device{net, scsi}, "", ""},
		{"unbound NIC", []parse.Device{unbound, blk}, "", "unbound"},
		{"emulated NIC", []parse.Device{blk}, "e1000", "emulated NIC model e1000"},
		{"no devices", nil, "", "no virtio devices"},
	} {
		v := JudgeParavirtual(c.devs, "virtio", req, c.nic)
		if got := strings.Join(v.Failures(), "; "); (c.fail == "") != (got == "") || !strings.Contains(got, c.fail) {
			t.Errorf("%s: failures %q, want %q\n%s", c.name, got, c.fail, v)
		}
	}
	// vmbus devices are not judged under a virtio profile and vice versa.
	hvnet := parse.Device{Bus: "vmbus", Name: "x", Kind: "net", Want: "hv_netvsc"}
	if v := JudgeParavirtual([]parse.Device{net, blk, hvnet}, "virtio", req, ""); v.Failed() {
		t.Errorf("other bus judged: %s", v)
	}
}

func TestJudgeInitramfsSkips(t *testing.T) {
	v := JudgeInitramfs(InitramfsFacts{Kernel: "6.1.0-26-amd64", Tool: "none"}, []string{"virtio_blk"})
	if v.Skip == "" || !strings.Contains(v.Skip, "no initramfs") {
		t.Fatalf("%s", v)
	}
	v = JudgeInitramfs(InitramfsFacts{Kernel: "k", Tool: "lsinitrd", HasImage: true, Builtin: map[string]bool{"virtio_blk": true}, Modules: map[string]bool{}}, []string{"virtio_blk"})
	if v.Failed() {
		t.Fatalf("built-in driver not accepted: %s", v)
	}
}

func TestJudgeBalloonMemory(t *testing.T) {
	f := BalloonFacts{Devices: []parse.Device{{Bus: "virtio", Kind: "balloon", Name: "virtio3", Driver: "virtio_balloon"}}, MemTotalKB: 1_000_000}
	if v := JudgeBalloon(f, "virtio_balloon", 0.8, 2048, ""); !v.Failed() {
		t.Errorf("MemTotal of half the configured memory accepted: %s", v)
	}
	f.MemTotalKB = 2_014_488
	if v := JudgeBalloon(f, "virtio_balloon", 0.8, 2048, ""); v.Failed() {
		t.Error(v)
	}
}

func TestAgentInstalledOrNot(t *testing.T) {
	// Not installed: the search ran and found nothing, no process.
	f := ParseAgent("@@@ installed\nsearched: done\n@@@ pid\nnot running\n@@@ ports\norg.qemu.guest_agent.0\n")
	if v := JudgeAgent(f); !strings.Contains(v.Skip, "not installed") {
		t.Errorf("absent agent not skipped: %s", v)
	}
	// Installed but stopped: FAIL, never SKIP.
	f = ParseAgent("@@@ installed\n/usr/sbin/qemu-ga\nsearched: done\n@@@ pid\nnot running\n@@@ ports\norg.qemu.guest_agent.0\n")
	if v := JudgeAgent(f); v.Skip != "" || !v.Failed() {
		t.Errorf("stopped agent: %s", v)
	}
	// A probe output without the search (older transcript) is judged.
	f = ParseAgent("@@@ pid\nnot running\n@@@ ports\n")
	if v := JudgeAgent(f); v.Skip != "" || !v.Failed() {
		t.Errorf("unsearched: %s", v)
	}
}

func TestProbeAgentRunsInBusybox(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox not installed")
	}
	out, _ := exec.Command(bb, "sh", "-c", ProbeAgent).CombinedOutput()
	f := ParseAgent(string(out))
	if !f.Searched {
		t.Fatalf("search marker missing:\n%s", out)
	}
}
