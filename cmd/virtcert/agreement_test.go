package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAgreementMode: tool agreement is off unless asked for, by
// `run --agreement` or the plan's `agreement: true`; the resolved run says
// so (text and JSON). A resumed run keeps its plan's mode.
func TestAgreementMode(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "d.qcow2")
	os.WriteFile(img, []byte("x"), 0o644)
	one := []string{"run", "--dry-run", "--driver", "testdrv", "--uri", "test://one", "--image", img, "--checks", "disk"}
	const on = "tool agreement on"
	if code, out, err := exec(t, one...); code != 0 || strings.Contains(out, on) {
		t.Errorf("default: %d %v, want agreement off\n%s", code, err, out)
	}
	if code, out, err := exec(t, append(one, "--agreement")...); code != 0 || !strings.Contains(out, on) {
		t.Errorf("--agreement: %d %v\n%s", code, err, out)
	}
	if code, out, err := exec(t, append(one, "--agreement", "--json")...); code != 0 || !strings.Contains(out, `"agreement": true`) {
		t.Errorf("--agreement --json: %d %v\n%s", code, err, out)
	}
	p := filepath.Join(dir, "p.yaml")
	os.WriteFile(p, []byte("name: x\nagreement: true\nhosts:\n  h: {driver: testdrv, uri: 'test://one'}\nimages:\n  i: {path: "+img+"}\n"), 0o644)
	if code, out, err := exec(t, "run", "--dry-run", "--plan", p); code != 0 || !strings.Contains(out, on) {
		t.Errorf("plan agreement: true: %d %v\n%s", code, err, out)
	}
	if code, _, err := exec(t, "run", "--resume", dir, "--agreement"); code != 2 || !strings.Contains(err.Error(), "leave out --agreement") {
		t.Errorf("--resume --agreement: %d %v, want exit 2", code, err)
	}
}
