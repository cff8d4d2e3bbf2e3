package pvdrivers

import "github.com/virtcert/virtcert/suites"

// The guest fault each driver check exists to catch, and its proof.
func init() {
	suites.DescribeFaults(map[string]suites.Fault{
		"drivers.paravirtual": {
			What: "a paravirtual device left without its driver (the module never loaded), or an emulated device where a paravirtual one belongs",
			Made: "tiny guest with virtcert.fault=noload=virtio_blk (its virtio-blk device stays unbound); tiny guest with an e1000 NIC",
			Proofs: []suites.Proof{suites.LabProof("TestFault", "pv-driver-missing"), suites.LabProof("TestFault", "emulated-nic"),
				suites.TranscriptProof("TestTranscripts", "kvm-tcg/drivers/faulty-noload-blk.txt"), suites.TranscriptProof("TestTranscripts", "kvm/drivers/faulty-unbound.txt")},
		},
		"drivers.modules": {
			What:   "a required paravirtual driver module is neither loaded nor built in",
			Made:   "tiny guest with virtcert.fault=noload=virtio_net (reached through an e1000 NIC)",
			Proofs: []suites.Proof{suites.LabProof("TestFault", "emulated-nic"), suites.TranscriptProof("TestTranscripts", "kvm/drivers/faulty-unbound.txt")},
		},
		"drivers.initramfs": {
			What:   "the root disk's driver is missing from the initramfs: the next kernel update or a disk-bus change leaves the guest unbootable",
			Made:   "a Debian guest whose lsinitramfs lists no virtio_blk",
			Proofs: []suites.Proof{suites.TranscriptProof("TestTranscripts", "kvm/drivers/faulty-initramfs.txt")},
		},
		"drivers.guest-agent": {
			What:   "the QEMU guest agent is installed but stopped or not answering the host",
			Made:   "the Debian guest with qemu-guest-agent stopped (systemctl stop) on the lab",
			Proofs: []suites.Proof{suites.LabProof("TestE2EDebian", "clock-after-pause"), suites.TranscriptProof("TestTranscripts", "kvm/drivers/faulty-agent.txt")},
		},
		"drivers.balloon": {
			What:   "the memory balloon device has no driver: the host cannot reclaim or resize the guest's memory",
			Made:   "tiny guest with virtcert.fault=noload=virtio_balloon; a KVM guest whose balloon device is unbound",
			Proofs: []suites.Proof{suites.LabProof("TestFault", "pv-driver-missing"), suites.TranscriptProof("TestTranscripts", "kvm/drivers/faulty-balloon.txt")},
		},
	})
}
