package platform

import "github.com/virtcert/virtcert/suites"

// The guest fault each platform check exists to catch, and its proof.
func init() {
	suites.DescribeFaults(map[string]suites.Fault{
		"platform.hypervisor": {
			What:   "the guest's view of the platform disagrees with the host (acceleration silently lost: the guest sees plain QEMU emulation while the host reports KVM)",
			Made:   "a guest on a host reporting KVM whose systemd-detect-virt says qemu and whose dmesg names no KVM",
			Proofs: []suites.Proof{suites.TranscriptProof("TestTranscripts", "kvm/platform/faulty-emulated.txt")},
		},
		"platform.vmbus": {
			What:   "VMBus never negotiated (hv_vmbus missing or failed): no synthetic device can work",
			Made:   "a Hyper-V guest whose dmesg has no \"Vmbus version\" line",
			Proofs: []suites.Proof{suites.TranscriptProof("TestTranscripts", "hyperv-gen1/platform/faulty-novmbus.txt")},
		},
		"platform.vmbus-devices": {
			What:   "an integration or synthetic device the host offers is missing from the guest's VMBus",
			Made:   "a Hyper-V guest with no VMBus devices, and one without the KVP and heartbeat channels",
			Proofs: []suites.Proof{suites.TranscriptProof("TestTranscripts", "hyperv-gen1/platform/faulty-novmbus.txt"), suites.TranscriptProof("TestTranscripts", "hyperv-gen1/platform/faulty-no-kvp.txt")},
		},
	})
}
