package disk

import "github.com/virtcert/virtcert/suites"

// The guest fault each disk check exists to catch, and its proof.
func init() {
	const transcripts = "TestChecksOnTranscripts" // the test replaying this area's transcripts
	suites.DescribeFaults(map[string]suites.Fault{
		"disk.driver": {
			What:   "the disk is on an emulated controller (IDE/ata_piix) instead of virtio or storvsc",
			Made:   "tiny guest with disk_bus ide (libvirt <target bus='ide'/>, driven by ata_piix)",
			Proofs: []suites.Proof{suites.LabProof("TestFault", "emulated-disk-no-power-button"), suites.TranscriptProof(transcripts, "kvm/disk/faulty-emulated-ide.txt"), suites.TranscriptProof(transcripts, "hyperv-gen1/disk/faulty-ata-piix.txt")},
		},
		"disk.integrity": {
			What: "the disk refuses writes, or data written with O_DIRECT reads back different",
			Made: "tiny guest with virtcert.fault=rodisk (blockdev --setro: every write gets EPERM); a block overwritten behind the pattern's back on the real disk",
			Proofs: []suites.Proof{suites.LabProof("TestFault", "disk-refuses-writes"), suites.LabProof("TestE2EFaults", "rodisk"), suites.LabProof("TestE2EFaults", "corrupt-data"),
				suites.TranscriptProof(transcripts, "kvm/disk/faulty-corrupt.txt"), suites.TranscriptProof(transcripts, "kvm/disk/faulty-rofs.txt")},
		},
		"disk.throughput": {
			What:   "sequential throughput below the platform's floor, or a disk that refuses the benchmark's writes",
			Made:   "tiny guest with virtcert.fault=rodisk; a throttled disk (blkdeviotune 20 MB/s)",
			Proofs: []suites.Proof{suites.LabProof("TestFault", "disk-refuses-writes"), suites.TranscriptProof(transcripts, "kvm/disk/faulty-slow.txt")},
		},
		"disk.iops": {
			What:   "4 KiB random IOPS below the platform's floor, or a disk that refuses the benchmark's writes",
			Made:   "tiny guest with virtcert.fault=rodisk; a throttled disk (blkdeviotune 300 IOPS)",
			Proofs: []suites.Proof{suites.LabProof("TestFault", "disk-refuses-writes"), suites.TranscriptProof(transcripts, "kvm/disk/faulty-slow.txt")},
		},
		"disk.block-sizes": {
			What:   "a partition not aligned to the disk's physical block size (read-modify-write on every I/O)",
			Made:   "a KVM guest whose root partition starts at sector 63",
			Proofs: []suites.Proof{suites.TranscriptProof(transcripts, "kvm/disk/faulty-misaligned.txt")},
		},
		"disk.root-identity": {
			What:   "the root filesystem is named by device path (/dev/vda1, /dev/sda1): a bus or disk-order change leaves the guest unbootable",
			Made:   "a KVM guest whose root= and fstab name /dev/vda1; a Hyper-V gen1 guest naming /dev/sda1",
			Proofs: []suites.Proof{suites.TranscriptProof(transcripts, "kvm/disk/faulty-misaligned.txt"), suites.TranscriptProof(transcripts, "hyperv-gen1/disk/faulty-ata-piix.txt")},
		},
		"disk.hotplug": {
			What:   "a hot-added disk never appears in the guest (or at the wrong size), or its removal leaves a call trace",
			Made:   "tiny guest with virtcert.fault=noload=virtio_blk: the hot-added virtio disk has no driver and never appears",
			Proofs: []suites.Proof{suites.LabProof("TestFault", "pv-driver-missing")},
		},
	})
}
