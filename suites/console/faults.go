package console

import "github.com/virtcert/virtcert/suites"

// The guest fault console.clean exists to catch, and its proof.
func init() {
	const transcripts = "TestTranscripts" // the test replaying this area's transcripts
	suites.DescribeFaults(map[string]suites.Fault{
		"console.clean": {
			What: "the kernel panicked, oopsed, warned or hit an I/O error (seen on the serial console)",
			Made: "tiny guest with virtcert.fault=panic=20 (echo c > /proc/sysrq-trigger: a real kernel panic); console logs with a panic, a WARN, an I/O error, an emergency shell",
			Proofs: []suites.Proof{suites.LabProof("TestFaultConsolePanic", ""),
				suites.TranscriptProof(transcripts, "kvm/console/faulty-panic.log"), suites.TranscriptProof(transcripts, "kvm/console/faulty-warning.log"), suites.TranscriptProof(transcripts, "kvm/console/faulty-io.log"), suites.TranscriptProof(transcripts, "kvm/console/faulty-emergency.log")},
		},
	})
}
