package lifecycle

import "github.com/virtcert/virtcert/suites"

// The guest fault each lifecycle check exists to catch, and its proof.
func init() {
	const transcripts = "TestTranscripts" // the test replaying this area's transcripts
	suites.DescribeFaults(map[string]suites.Fault{
		"lifecycle.reboot": {
			What:   "a reboot requested in the guest never happens, or the guest does not come back in time",
			Made:   "a KVM guest whose boot_id is unchanged after the reboot request",
			Proofs: []suites.Proof{suites.TranscriptProof(transcripts, "kvm/lifecycle/faulty-no-reboot.txt")},
		},
		"lifecycle.host-reboot": {
			What:   "the guest ignores the host's reboot request (ACPI power button not handled)",
			Made:   "tiny guest with virtcert.fault=nopowerbutton (acpid not started): virsh reboot is ignored",
			Proofs: []suites.Proof{suites.LabProof("TestFault", "emulated-disk-no-power-button"), suites.TranscriptProof(transcripts, "kvm/lifecycle/faulty-no-reboot.txt")},
		},
		"lifecycle.pause-resume": {
			What:   "the guest does not survive a host pause/resume (it rebooted, hangs, or its disk refuses writes)",
			Made:   "a KVM guest whose boot_id changed across pause/resume",
			Proofs: []suites.Proof{suites.TranscriptProof(transcripts, "kvm/lifecycle/faulty-resume-reboot.txt")},
		},
		"lifecycle.save-restore": {
			What:   "the guest does not survive a host save/restore (rebooted, hangs, or its disk refuses writes)",
			Made:   "a KVM guest whose synced disk write fails after restore",
			Proofs: []suites.Proof{suites.TranscriptProof(transcripts, "kvm/lifecycle/faulty-disk.txt")},
		},
		"lifecycle.shutdown": {
			What: "the guest ignores a graceful shutdown from the host (ACPI power button not handled) and must be destroyed",
			Made: "tiny guest with virtcert.fault=nopowerbutton (acpid not started): virsh shutdown is ignored; a replayed guest that ignores PowerShutdown",
			Proofs: []suites.Proof{suites.LabProof("TestFault", "emulated-disk-no-power-button"),
				suites.TranscriptProof(transcripts, "IgnoreShutdown")},
		},
	})
}
