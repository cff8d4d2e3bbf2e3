package suites

import (
	"strings"
	"testing"
	"time"
)

func TestDescribeFaults(t *testing.T) {
	f := Fault{What: "w", Made: "m|<x>", Proofs: []Proof{{Kind: ProofTranscript, Test: "TestT", Case: "kvm-tcg/drivers/x.txt"}, {Kind: ProofLab, Test: "TestL", Case: "c"}}}
	Register(Check{ID: "zz.described", Area: "zz", Priority: 1, Title: "t", Timeout: time.Second, Run: func(*T) {}})
	DescribeFaults(map[string]Fault{"zz.described": f})
	c, _ := Lookup("zz.described")
	if c.Fault.What != "w" || c.Fault.Proven() != "lab" {
		t.Errorf("described fault not on the check: %+v", c.Fault)
	}
	if got := c.Fault.Proofs[0].String(); got != "transcript (captured): kvm-tcg/drivers/x.txt in TestT" {
		t.Errorf("proof text %q", got)
	}
	if tb := FaultTable([]Check{c}); !strings.Contains(tb, "| `zz.described` | 1 | w | m\\|&lt;x&gt; | transcript (captured)") || !strings.Contains(tb, "<br>lab: TestL/c |") {
		t.Errorf("table:\n%s", tb)
	}
	mustPanic(t, "described twice", func() { DescribeFaults(map[string]Fault{"zz.described": f}) })
	Register(Check{ID: "zz.own", Area: "zz", Priority: 1, Title: "t", Timeout: time.Second, Run: func(*T) {}, Fault: f})
	mustPanic(t, "own Fault and described", func() { DescribeFaults(map[string]Fault{"zz.own": f}) })
	DescribeFaults(map[string]Fault{"zz.later": f})
	mustPanic(t, "registered after its description, with its own", func() {
		Register(Check{ID: "zz.later", Area: "zz", Priority: 1, Title: "t", Timeout: time.Second, Run: func(*T) {}, Fault: f})
	})
	if (Fault{}).Proven() != "-" {
		t.Error("no proof must read -")
	}
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", what)
		}
	}()
	f()
}
