package console

import "github.com/virtcert/virtcert/suites"

// The guest fault console.clean exists to catch, and its proof.
func init() {
	tr := func(c string) suites.Proof {
		return suites.Proof{Kind: suites.ProofTranscript, Test: "TestTranscripts", Case: c}
	}
	suites.DescribeFaults(map[string]suites.Fault{
		"console.clean": {
			What: "the kernel panicked, oopsed, warned or hit an I/O error (seen on the serial console)",
			Made: "tiny guest with virtcert.fault=panic=20 (echo c > /proc/sysrq-trigger: a real kernel panic); console logs with a panic, a WARN, an I/O error, an emergency shell",
			Proofs: []suites.Proof{{Kind: suites.ProofLab, Test: "TestFaultConsolePanic"},
				tr("kvm/console/faulty-panic.log"), tr("kvm/console/faulty-warning.log"), tr("kvm/console/faulty-io.log"), tr("kvm/console/faulty-emergency.log")},
		},
	})
}
