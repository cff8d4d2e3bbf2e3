package hyperv

import "github.com/virtcert/virtcert/suites"

// The guest fault each Hyper-V check exists to catch, and its proof. No
// Hyper-V host is available to the project: every proof is a transcript
// constructed from documented formats (fixtures/transcripts/*/hyperv).
func init() {
	const transcripts = "TestChecksOnTranscripts" // the test replaying this area's transcripts
	suites.DescribeFaults(map[string]suites.Fault{
		"hyperv.fcopy": {
			What:   "host-to-guest file copy fails (fcopy daemon not running) or delivers different bytes",
			Made:   "a Hyper-V guest without the fcopy daemon (Copy-VMFile fails); one whose copy differs in sha256",
			Proofs: []suites.Proof{suites.TranscriptProof(transcripts, "hyperv-gen1/hyperv/faulty-fcopy.txt"), suites.TranscriptProof(transcripts, "hyperv-gen1/hyperv/faulty-fcopy-corrupt.txt")},
		},
		"hyperv.heartbeat": {
			What:   "the host loses the guest's heartbeat (guest hung or hv_utils unloaded)",
			Made:   "Get-VM reporting Heartbeat LostCommunication",
			Proofs: []suites.Proof{suites.TranscriptProof(transcripts, "hyperv-gen1/hyperv/faulty-heartbeat.txt")},
		},
		"hyperv.integration-services": {
			What:   "an enabled integration service gets no answer from the guest",
			Made:   "Get-VMIntegrationService showing Time Synchronization lost; VSS with No Contact",
			Proofs: []suites.Proof{suites.TranscriptProof(transcripts, "hyperv-gen1/hyperv/faulty-timesync.txt"), suites.TranscriptProof(transcripts, "hyperv-gen1/hyperv/faulty-no-vss.txt")},
		},
		"hyperv.kvp": {
			What:   "KVP exchange broken: the daemon is not running, or the host sees stale items (a cloned image's host name and address)",
			Made:   "a Hyper-V guest without hv_kvp_daemon; one whose KVP pool holds the template's FQDN",
			Proofs: []suites.Proof{suites.TranscriptProof(transcripts, "hyperv-gen1/hyperv/faulty-no-kvp-daemon.txt"), suites.TranscriptProof(transcripts, "hyperv-gen1/hyperv/faulty-kvp-stale.txt")},
		},
		"hyperv.vss": {
			What:   "the VSS daemon is not running: host-side backups cannot quiesce the guest",
			Made:   "a Hyper-V guest without hv_vss_daemon; the host's VSS service shows No Contact",
			Proofs: []suites.Proof{suites.TranscriptProof(transcripts, "hyperv-gen1/hyperv/faulty-no-vss.txt")},
		},
	})
}
