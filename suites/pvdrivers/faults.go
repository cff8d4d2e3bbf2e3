package pvdrivers

import "github.com/virtcert/virtcert/suites"

// The guest fault each driver check exists to catch, and its proof.
func init() {
	lab := func(test, c string) suites.Proof { return suites.Proof{Kind: suites.ProofLab, Test: test, Case: c} }
	tr := func(test, c string) suites.Proof {
		return suites.Proof{Kind: suites.ProofTranscript, Test: test, Case: c}
	}
	suites.DescribeFaults(map[string]suites.Fault{
		"drivers.paravirtual": {
			What: "a paravirtual device left without its driver (the module never loaded), or an emulated device where a paravirtual one belongs",
			Made: "tiny guest with virtcert.fault=noload=virtio_blk (its virtio-blk device stays unbound); tiny guest with an e1000 NIC",
			Proofs: []suites.Proof{lab("TestFault", "pv-driver-missing"), lab("TestFault", "emulated-nic"),
				tr("TestTranscripts", "kvm-tcg/drivers/faulty-noload-blk.txt"), tr("TestTranscripts", "kvm/drivers/faulty-unbound.txt")},
		},
		"drivers.modules": {
			What:   "a required paravirtual driver module is neither loaded nor built in",
			Made:   "tiny guest with virtcert.fault=noload=virtio_net (reached through an e1000 NIC)",
			Proofs: []suites.Proof{lab("TestFault", "emulated-nic"), tr("TestTranscripts", "kvm/drivers/faulty-unbound.txt")},
		},
		"drivers.initramfs": {
			What:   "the root disk's driver is missing from the initramfs: the next kernel update or a disk-bus change leaves the guest unbootable",
			Made:   "a Debian guest whose lsinitramfs lists no virtio_blk",
			Proofs: []suites.Proof{tr("TestTranscripts", "kvm/drivers/faulty-initramfs.txt")},
		},
		"drivers.guest-agent": {
			What:   "the QEMU guest agent is installed but stopped or not answering the host",
			Made:   "the Debian guest with qemu-guest-agent stopped (systemctl stop) on the lab",
			Proofs: []suites.Proof{lab("TestE2EClockAfterPauseDebian", ""), tr("TestTranscripts", "kvm/drivers/faulty-agent.txt")},
		},
		"drivers.balloon": {
			What:   "the memory balloon device has no driver: the host cannot reclaim or resize the guest's memory",
			Made:   "tiny guest with virtcert.fault=noload=virtio_balloon; a KVM guest whose balloon device is unbound",
			Proofs: []suites.Proof{lab("TestFault", "pv-driver-missing"), tr("TestTranscripts", "kvm/drivers/faulty-balloon.txt")},
		},
	})
}
