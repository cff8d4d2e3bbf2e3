package suites

import "fmt"

// Fault is the guest fault a check exists to catch: what is wrong with the
// guest, how the proof makes that fault, and the tests that prove the
// check FAILs on it. Every check of priority 1 and 2 carries one
// (suites/all's TestFaultTable enforces it); `virtcert checks` shows it
// and `virtcert checks --faults` prints the table of suites/CATALOG.md.
type Fault struct {
	What   string  // the fault, as a guest's user would name it
	Made   string  // how the proof makes it
	Proofs []Proof // at least one; a lab proof first where one exists
}

// ProofKind says what kind of guest the proof ran against.
type ProofKind string

const (
	// ProofLab: a real guest with the fault, on the lab (real libvirtd
	// and QEMU), judged by the real check.
	ProofLab ProofKind = "lab"
	// ProofTranscript: the check's gather, parse and judge replayed on
	// a recorded transcript of a guest with the fault
	// (fixtures/transcripts; each platform's SOURCES.md says whether it
	// was captured or constructed from documented formats).
	ProofTranscript ProofKind = "transcript"
)

// Proof names one test that makes the check FAIL on the fault.
type Proof struct {
	Kind ProofKind
	// Test is the Go test function ("TestFault").
	Test string
	// Case is how that test's file names the faulty case: a subtest
	// name for a lab proof ("emulated-nic"), the transcript variant as
	// PLATFORM/AREA/FILE for a transcript proof
	// ("kvm/drivers/faulty-unbound.txt"; the test's file names AREA/FILE,
	// or FILE for console logs).
	Case string
}

// LabProof names a lab test, and its subtest case ("" for the whole
// test), that FAILs the check on a real faulty guest.
func LabProof(test, c string) Proof { return Proof{Kind: ProofLab, Test: test, Case: c} }

// TranscriptProof names a test that FAILs the check on a recorded
// transcript, and the faulty variant as PLATFORM/AREA/FILE (or a named
// case of that test).
func TranscriptProof(test, c string) Proof {
	return Proof{Kind: ProofTranscript, Test: test, Case: c}
}

var faults = map[string]Fault{}

// DescribeFaults records, for checks registered without a Fault, the fault
// each one catches, keyed by check ID. An area keeps its table in its own
// faults.go, beside its registrations. It panics on an ID described twice
// or a check that carries its own Fault as well: programming errors.
func DescribeFaults(m map[string]Fault) {
	mu.Lock()
	defer mu.Unlock()
	for id, f := range m {
		if _, dup := faults[id]; dup {
			panic("suites: fault described twice for " + id)
		}
		if c, ok := registry[id]; ok && c.Fault.What != "" {
			panic(fmt.Sprintf("suites: check %s carries its own Fault and is described again", id))
		}
		faults[id] = f
	}
}

// FaultIDs returns the IDs DescribeFaults was given, for the test that
// every described ID names a registered check.
func FaultIDs() []string {
	mu.Lock()
	defer mu.Unlock()
	var ids []string
	for id := range faults {
		ids = append(ids, id)
	}
	return ids
}

// withFault fills c.Fault from the described faults. Callers hold mu.
func withFault(c Check) Check {
	if f, ok := faults[c.ID]; ok && c.Fault.What == "" {
		c.Fault = f
	}
	return c
}
