package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestChecksOS: `virtcert checks --os windows` lists the Windows catalog
// (at least 24 checks, each with its evidence commands in doc) and no
// Linux-only check; --os linux lists no Windows check; any other OS is
// bad input (exit 2, one message). The table for Windows says its checks
// are simulated (constructed transcripts only); the Linux one does not.
func TestChecksOS(t *testing.T) {
	code, out, err := exec(t, "checks", "--os", "windows", "--json")
	if code != 0 || err != nil {
		t.Fatalf("checks --os windows --json: %d %v", code, err)
	}
	var list []checkInfo
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range list {
		if len(c.OS) != 1 || c.OS[0] != "windows" {
			t.Errorf("--os windows lists %s (os %v)", c.ID, c.OS)
			continue
		}
		n++
		if !strings.Contains(c.Doc, "`") {
			t.Errorf("%s: doc names no evidence command: %q", c.ID, c.Doc)
		}
	}
	if n < 24 {
		t.Errorf("--os windows lists %d checks, want at least 24", n)
	}
	code, out, _ = exec(t, "checks", "--os", "windows")
	if code != 0 || !strings.Contains(out, "SIMULATED: the Windows checks (windows.*) are proven on constructed transcripts only") {
		t.Errorf("checks --os windows does not say its checks are simulated: %d\n%.400s", code, out)
	}
	code, out, _ = exec(t, "checks", "--os", "linux")
	if code != 0 || strings.Contains(out, "windows.") || strings.Contains(out, "SIMULATED") || !strings.Contains(out, "clock.offset") {
		t.Errorf("checks --os linux: %d\n%.400s", code, out)
	}
	if code, _, _ := exec(t, "checks", "--os", "macos"); code != ExitInput {
		t.Errorf("checks --os macos: exit %d, want %d", code, ExitInput)
	}
}
