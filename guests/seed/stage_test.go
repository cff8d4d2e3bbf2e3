package seed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretsStagedOnlyInStageDir: the seeds (the Linux one holds the
// host's private key, the Windows one the admin password and the
// certificate's key) are staged in the caller's StageDir, never in
// $TMPDIR (here a directory that does not exist, so any use of it
// fails), and the staging is gone when Build returns.
func TestSecretsStagedOnlyInStageDir(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "no-such-tmp"))
	c, _, _ := testConfig(t, "debian")
	w := testWindows(t)
	build := map[string]func() ([]byte, error){
		"linux":   func() ([]byte, error) { return Build(c) },
		"windows": func() ([]byte, error) { return BuildWindows(w) },
	}
	stage := map[string]string{"linux": c.StageDir, "windows": w.StageDir}
	for name, b := range build {
		if _, err := b(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		left, err := os.ReadDir(stage[name])
		if err != nil || len(left) != 0 {
			t.Errorf("%s: the stage directory holds %v after Build (%v)", name, left, err)
		}
	}
	c.StageDir, w.StageDir = "", ""
	for name, b := range build {
		if _, err := b(); err == nil || !strings.Contains(err.Error(), "staging directory") {
			t.Errorf("%s without a StageDir: err %v, want a refusal", name, err)
		}
	}
	// WriteFile stages beside its output (not in the missing $TMPDIR),
	// and leaves only the image there.
	c2, _, _ := testConfig(t, "debian")
	c2.StageDir = ""
	out := filepath.Join(t.TempDir(), "seed.iso")
	if err := WriteFile(out, c2); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	if left, err := os.ReadDir(filepath.Dir(out)); err != nil || len(left) != 1 || left[0].Name() != "seed.iso" {
		t.Errorf("beside the written seed: %v (%v), want only seed.iso", left, err)
	}
}
