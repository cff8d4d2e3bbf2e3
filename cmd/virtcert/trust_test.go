package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/bundle"
	"github.com/virtcert/virtcert/reports/journal"
)

// killedRun makes a run directory as a killed run leaves it.
func killedRun(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vc-20261121-233929-fa3540")
	os.Mkdir(dir, 0o755)
	w, err := journal.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	w.Append(journal.Record{Type: journal.RunStarted, RunID: "vc-20261121-233929-fa3540"})
	w.Append(journal.Record{Type: journal.CheckResult, Target: "lab/tiny", Result: &reports.Result{Check: "clock.offset", Status: reports.Pass}})
	w.Close()
	return dir
}

// On 301818a, --out with a planted plan.yaml symlink overwrote the file
// it pointed to, and files already in --out were sealed into the
// manifest: --out must now be new or empty (exit 2).
func TestRunOutMustBeNewOrEmpty(t *testing.T) {
	out := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	os.Symlink(victim, filepath.Join(out, "plan.yaml"))
	code, _, err := exec(t, "run", "--driver", "existing", "--uri", "localhost", "--out", out)
	if code != 2 || err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("run --out non-empty: %d %v", code, err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("victim overwritten: %q", b)
	}
	// report -o and report merge -o refuse a non-empty directory too.
	run := killedRun(t)
	if code, _, err := exec(t, "report", run, "-o", out); code != 2 {
		t.Errorf("report -o non-empty: %d %v", code, err)
	}
	if code, _, err := exec(t, "report", "merge", "--allow-unsigned", "-o", out, run); code != 2 || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("report merge -o non-empty: %d %v", code, err)
	}
}

// On 301818a, `report DIR` re-sealed a signed bundle without its key and
// deleted manifest.sig; `report verify` without --pub passed it.
func TestSignatureNotLost(t *testing.T) {
	dir := killedRun(t)
	kd := t.TempDir()
	key, pub := filepath.Join(kd, "k"), filepath.Join(kd, "k.pub")
	if err := bundle.GenerateKey(key, pub); err != nil {
		t.Fatal(err)
	}
	if code, out, err := exec(t, "report", dir, "--sign-key", key); code != 0 {
		t.Fatalf("signed re-render: %d %v\n%s", code, err, out)
	}
	code, _, err := exec(t, "report", dir)
	if code != 2 || err == nil || !strings.Contains(err.Error(), "signed") {
		t.Errorf("unsigned re-render of a signed bundle: %d %v", code, err)
	}
	if code, _, err := exec(t, "report", "html", dir); code != 2 {
		t.Errorf("report html into a signed bundle: %d %v", code, err)
	}
	if _, err := os.Stat(filepath.Join(dir, bundle.SignatureFile)); err != nil {
		t.Fatalf("signature lost: %v", err)
	}
	if code, out, err := exec(t, "report", "verify", "--pub", pub, dir); code != 0 || !strings.Contains(out, "bundle VERIFIED") {
		t.Errorf("verify --pub: %d %v\n%s", code, err, out)
	}
	code, out, _ := exec(t, "report", "verify", dir)
	if code != 1 || !strings.Contains(out, "UNVERIFIED") {
		t.Errorf("verify without --pub: %d\n%s", code, out)
	}
	// A configured keyring stands in for --pub.
	t.Setenv("VIRTCERT_TRUSTED_KEYS", kd)
	if code, out, err := exec(t, "report", "verify", dir); code != 0 || !strings.Contains(out, "bundle VERIFIED") {
		t.Errorf("verify with the keyring: %d %v\n%s", code, err, out)
	}
	t.Setenv("VIRTCERT_TRUSTED_KEYS", "")
	if code, _, err := exec(t, "report", "verify", "--allow-unsigned", dir); code != 0 {
		t.Errorf("--allow-unsigned: %d %v", code, err)
	}
	// The documented out/latest symlink verifies.
	link := filepath.Join(t.TempDir(), "latest")
	os.Symlink(dir, link)
	if code, out, err := exec(t, "report", "verify", "--pub", pub, link); code != 0 {
		t.Errorf("verify via symlink: %d %v\n%s", code, err, out)
	}
	// Into a new directory, without the key: unsigned, and the original
	// keeps its signature.
	fresh := filepath.Join(t.TempDir(), "copy")
	if code, _, err := exec(t, "report", dir, "-o", fresh); code != 0 {
		t.Errorf("report -o new: %d %v", code, err)
	}
	if code, _, _ := exec(t, "report", "verify", "--pub", pub, fresh); code != 1 {
		t.Errorf("unsigned copy verified against the key: %d", code)
	}
}

// USAGE.md says a bundle failing verification exits 1; on 301818a a
// manifest entry leading out of the bundle exited 2.
func TestVerifyTraversalExitsOne(t *testing.T) {
	dir := killedRun(t)
	if code, _, err := exec(t, "report", dir); code != 0 {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, bundle.ManifestFile), []byte(strings.Repeat("0", 64)+"  ../../etc/passwd\n"), 0o644)
	if code, _, err := exec(t, "report", "verify", dir); code != 1 {
		t.Errorf("traversal: %d %v", code, err)
	}
}
