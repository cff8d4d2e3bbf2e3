package suites

import (
	"fmt"
	"strings"
)

// TranscriptSources says, per transcript platform (fixtures/transcripts/
// PLATFORM), whether its files were captured from a real guest or
// constructed from documented formats. suites/all's tests hold it to each
// platform's SOURCES.md.
var TranscriptSources = map[string]string{
	"kvm":         "constructed",
	"kvm-tcg":     "captured",
	"hyperv-gen1": "constructed",
	"hyperv-gen2": "constructed",
	// Windows guests (suites/windows): constructed from Microsoft's
	// documented output formats; none captured.
	"windows-kvm":         "constructed",
	"windows-hyperv-gen2": "constructed",
}

// String is one proof as the catalog shows it: "lab: TestFault/emulated-nic",
// "transcript (constructed): kvm/drivers/faulty-unbound.txt in TestTranscripts".
func (p Proof) String() string {
	if p.Kind == ProofLab {
		if p.Case == "" {
			return "lab: " + p.Test
		}
		return "lab: " + p.Test + "/" + p.Case
	}
	kind := string(p.Kind)
	if plat, _, ok := strings.Cut(p.Case, "/"); ok && TranscriptSources[plat] != "" {
		kind += " (" + TranscriptSources[plat] + ")"
	}
	return kind + ": " + p.Case + " in " + p.Test
}

// Proven is the strongest kind of proof the fault has: "lab" when a real
// faulty guest proves it, else "transcript", else "-".
func (f Fault) Proven() string {
	best := "-"
	for _, p := range f.Proofs {
		if p.Kind == ProofLab {
			return string(ProofLab)
		}
		best = string(p.Kind)
	}
	return best
}

// FaultTable renders the fault table of the catalog as Markdown: each
// check of priority 1 and 2 with the fault it catches, how the proof makes
// that fault, and the tests that prove the check FAILs on it.
func FaultTable(checks []Check) string {
	var b strings.Builder
	b.WriteString("| check | prio | fault it catches | how the fault is made | proof (FAILs on it) |\n|---|---|---|---|---|\n")
	for _, c := range checks {
		if c.Priority > 2 {
			continue
		}
		var proofs []string
		for _, p := range c.Fault.Proofs {
			proofs = append(proofs, cell(p.String()))
		}
		fmt.Fprintf(&b, "| `%s` | %d | %s | %s | %s |\n", c.ID, c.Priority, cell(c.Fault.What), cell(c.Fault.Made), strings.Join(proofs, "<br>"))
	}
	return b.String()
}

func cell(s string) string {
	if s == "" {
		return "**none**"
	}
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}
