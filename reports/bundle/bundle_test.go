package bundle

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/reportstest"
	"github.com/virtcert/virtcert/reports/rundir"
)

func writeSample(t *testing.T, sign bool) (string, *reports.Run, ed25519.PublicKey) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	src := filepath.Join(t.TempDir(), "serial.log")
	os.WriteFile(src, []byte("[    0.000000] Linux version 6.1\x1b[0m\nlogin:"), 0o644)
	run := reportstest.Sample()
	arts := []Artifact{
		{Target: "lab-kvm/debian-12", Name: "console.log", Path: src},
		{Target: "hyperv-sim/debian-12", Name: "raw/clock.offset.txt", Data: []byte("0.061\n")},
		{Target: "hyperv-sim/debian-12", Name: "../../escape", Data: []byte("x")},
		{Name: "runner.log", Data: []byte("log")},
	}
	var opt Options
	var pub ed25519.PublicKey
	if sign {
		kd := t.TempDir()
		if err := GenerateKey(filepath.Join(kd, "k"), filepath.Join(kd, "k.pub")); err != nil {
			t.Fatal(err)
		}
		k, err := LoadPrivateKey(filepath.Join(kd, "k"))
		if err != nil {
			t.Fatal(err)
		}
		if pub, err = LoadPublicKey(filepath.Join(kd, "k.pub")); err != nil {
			t.Fatal(err)
		}
		opt.SignKey = k
	}
	d, err := rundir.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := Write(d, run, arts, opt); err != nil {
		t.Fatal(err)
	}
	return dir, run, pub
}

func TestWriteLoadVerify(t *testing.T) {
	dir, run, pub := writeSample(t, true)
	for _, f := range []string{ResultsFile, JUnitFile, HTMLFile, ManifestFile, SignatureFile, PublicKeyFile,
		"artifacts/lab-kvm_debian-12/console.log", "artifacts/hyperv-sim_debian-12/raw/clock.offset.txt",
		"artifacts/hyperv-sim_debian-12/escape", "artifacts/run/runner.log"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	got, err := rundir.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(run, got); d != "" {
		t.Errorf("results.json round trip (-want +got):\n%s", d)
	}
	if !slices.Contains(got.Targets[1].Artifacts, "artifacts/hyperv-sim_debian-12/raw/clock.offset.txt") {
		t.Errorf("artifacts not recorded: %v", got.Targets[1].Artifacts)
	}
	rep, err := Verify(dir, pub)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Signature != SigValid || rep.Files != 7 {
		t.Fatalf("fresh bundle: %s", rep)
	}
	// Without a trusted key, the bundled key proves nothing: UNVERIFIED
	// (failed on 301818a: "valid (bundled key)" and OK).
	if rep, _ := Verify(dir); rep.Signature != SigUnverified || rep.OK() || !rep.Intact() || rep.Verdict() != "UNVERIFIED" {
		t.Errorf("self-verify: %s", rep)
	}
}

// TestIndependentTools checks the bundle with tools that are not virtcert:
// sha256sum for the manifest and openssl for the signature.
func TestIndependentTools(t *testing.T) {
	dir, _, _ := writeSample(t, true)
	if sum, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command(sum, "--strict", "-c", ManifestFile)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, out)
		}
	}
	ossl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	cmd := exec.Command(ossl, "pkeyutl", "-verify", "-pubin", "-inkey", PublicKeyFile, "-rawin", "-in", ManifestFile, "-sigfile", SignatureFile)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Signature Verified Successfully") {
		t.Errorf("openssl verify: %v\n%s", err, out)
	}
}

func TestVerifyFindsEachProblem(t *testing.T) {
	dir, _, pub := writeSample(t, true)
	os.WriteFile(filepath.Join(dir, "artifacts/lab-kvm_debian-12/console.log"), []byte("edited"), 0o644)
	os.Remove(filepath.Join(dir, JUnitFile))
	os.WriteFile(filepath.Join(dir, "artifacts/planted.sh"), []byte("evil"), 0o644)
	rep, err := Verify(dir, pub)
	if err != nil {
		t.Fatal(err)
	}
	want := &Report{Files: 7, Tampered: []string{"artifacts/lab-kvm_debian-12/console.log"}, Missing: []string{JUnitFile}, Extra: []string{"artifacts/planted.sh"}, Signature: SigValid, Signer: Fingerprint(pub)}
	if d := cmp.Diff(want, rep); d != "" {
		t.Errorf("report (-want +got):\n%s", d)
	}
	if rep.OK() {
		t.Error("OK on a tampered bundle")
	}
	for _, s := range []string{"TAMPERED artifacts/lab-kvm_debian-12/console.log", "MISSING  junit.xml", "EXTRA    artifacts/planted.sh", "bundle FAILED"} {
		if !strings.Contains(rep.String(), s) {
			t.Errorf("summary lacks %q:\n%s", s, rep)
		}
	}
}

func TestSignatureProblems(t *testing.T) {
	t.Run("manifest rewritten", func(t *testing.T) {
		// A tamperer who edits a file and re-hashes the manifest is
		// caught by the signature.
		dir, _, pub := writeSample(t, true)
		os.WriteFile(filepath.Join(dir, ResultsFile), []byte(`{"schema":"x"}`), 0o644)
		sig, _ := os.ReadFile(filepath.Join(dir, SignatureFile))
		pubf, _ := os.ReadFile(filepath.Join(dir, PublicKeyFile))
		os.Remove(filepath.Join(dir, SignatureFile))
		reseal(t, dir, nil)
		os.WriteFile(filepath.Join(dir, SignatureFile), sig, 0o644)
		os.WriteFile(filepath.Join(dir, PublicKeyFile), pubf, 0o644)
		rep, _ := Verify(dir, pub)
		if rep.Signature != SigInvalid || rep.OK() || len(rep.Tampered) != 0 {
			t.Errorf("%s", rep)
		}
	})
	t.Run("attacker key bundled", func(t *testing.T) {
		// Re-signed with the attacker's own key, which the bundle carries
		// as manifest.pub: never VERIFIED (failed on 301818a without --pub).
		dir, _, pub := writeSample(t, true)
		os.WriteFile(filepath.Join(dir, ResultsFile), []byte(`{"schema":"x"}`), 0o644)
		_, evil, _ := ed25519.GenerateKey(nil)
		reseal(t, dir, evil)
		if rep, _ := Verify(dir); rep.OK() || rep.Verdict() != "UNVERIFIED" {
			t.Errorf("no --pub: %s", rep)
		}
		if rep, _ := Verify(dir, pub); rep.Signature != SigInvalid || rep.Verdict() != "FAILED" {
			t.Errorf("--pub: %s", rep)
		}
	})
	t.Run("reseal without key", func(t *testing.T) {
		// Re-sealing a signed bundle without its key is refused and keeps
		// the signature (301818a removed manifest.sig silently).
		dir, _, pub := writeSample(t, true)
		d, _ := rundir.Reopen(dir)
		defer d.Close()
		if err := Seal(d, nil); !errors.Is(err, ErrSigned) {
			t.Fatalf("err = %v", err)
		}
		if rep, _ := Verify(dir, pub); !rep.OK() {
			t.Errorf("%s", rep)
		}
	})
	t.Run("symlinked run directory", func(t *testing.T) {
		// out/latest -> run: failed on 301818a ("is not a regular file").
		dir, _, pub := writeSample(t, true)
		link := filepath.Join(t.TempDir(), "latest")
		os.Symlink(dir, link)
		if rep, err := Verify(link, pub); err != nil || !rep.OK() {
			t.Errorf("%v %v", rep, err)
		}
	})
	t.Run("symlink inside", func(t *testing.T) {
		dir, _, pub := writeSample(t, true)
		os.Symlink("/etc/passwd", filepath.Join(dir, "artifacts", "passwd"))
		if _, err := Verify(dir, pub); err == nil {
			t.Error("a symlink inside the bundle was accepted")
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		dir, _, _ := writeSample(t, true)
		other, _, _ := ed25519.GenerateKey(nil)
		rep, _ := Verify(dir, other)
		if rep.Signature != SigInvalid || rep.OK() {
			t.Errorf("%s", rep)
		}
	})
	t.Run("unsigned but key required", func(t *testing.T) {
		dir, _, _ := writeSample(t, false)
		other, _, _ := ed25519.GenerateKey(nil)
		rep, _ := Verify(dir, other)
		if rep.Signature != SigMissing || rep.OK() {
			t.Errorf("%s", rep)
		}
		if rep, _ := Verify(dir); rep.Signature != SigUnsigned || rep.OK() || rep.Verdict() != "UNVERIFIED" {
			t.Errorf("unsigned, no key: %s", rep)
		}
	})
	t.Run("no manifest", func(t *testing.T) {
		dir, _, _ := writeSample(t, false)
		os.Remove(filepath.Join(dir, ManifestFile))
		if _, err := Verify(dir); !errors.Is(err, ErrManifest) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("manifest path escape", func(t *testing.T) {
		dir, _, _ := writeSample(t, false)
		os.WriteFile(filepath.Join(dir, ManifestFile), []byte(strings.Repeat("0", 64)+"  ../../etc/passwd\n"), 0o644)
		if _, err := Verify(dir); !errors.Is(err, ErrManifest) {
			t.Errorf("err = %v", err)
		}
	})
}

func reseal(t *testing.T, dir string, key ed25519.PrivateKey) {
	t.Helper()
	d, err := rundir.Reopen(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := Seal(d, key); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(strings.Repeat("a", 64) + "  results.json\n"))
	f.Add([]byte(strings.Repeat("0", 64) + "  ../../etc/passwd\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		for p, sum := range m {
			// Whatever is accepted names a file inside the bundle.
			if !fs.ValidPath(p) || strings.Contains(p, "\\") || len(sum) != 64 {
				t.Fatalf("accepted %q %q", p, sum)
			}
		}
	})
}

func TestArtifactPath(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"lab/img", "console.log"}: "artifacts/lab_img/console.log",
		{"t", "../../x"}:           "artifacts/t/x",
		{"t", "a b/<c>.txt"}:       "artifacts/t/a_b/_c_.txt",
		{"..", ".."}:               "artifacts/__/unnamed",
		{"", "runner.log"}:         "artifacts/run/runner.log",
	} {
		if got := ArtifactPath(in[0], in[1]); got != want {
			t.Errorf("ArtifactPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzVerify feeds hostile manifests and signatures to Verify over a
// small bundle: it never panics, never reads outside the bundle, and
// says VERIFIED only for an intact bundle whose manifest the trusted key
// signed.
func FuzzVerify(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	results := []byte(`{"schema":"virtcert.results/v1"}`)
	sum := sha256.Sum256(results)
	good := []byte(hex.EncodeToString(sum[:]) + "  results.json\n")
	f.Add(good, ed25519.Sign(priv, good), false)
	f.Add(good, []byte("x"), true)
	f.Add([]byte(strings.Repeat("0", 64)+"  ../results.json\n"), []byte{}, false)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, manifest, sig []byte, withPubFile bool) {
		os.Remove(filepath.Join(dir, PublicKeyFile))
		os.WriteFile(filepath.Join(dir, ResultsFile), results, 0o644)
		os.WriteFile(filepath.Join(dir, ManifestFile), manifest, 0o644)
		os.WriteFile(filepath.Join(dir, SignatureFile), sig, 0o644)
		if withPubFile {
			pp, _ := publicPEM(pub)
			os.WriteFile(filepath.Join(dir, PublicKeyFile), pp, 0o644)
		}
		rep, err := Verify(dir, pub)
		if err != nil {
			return
		}
		if rep.OK() && (!ed25519.Verify(pub, manifest, sig) || !bytes.Equal(manifest, good)) {
			t.Fatalf("VERIFIED a forged bundle: %q", manifest)
		}
		if rep, err := Verify(dir); err == nil && rep.OK() {
			t.Fatal("VERIFIED without a trusted key")
		}
	})
}

func TestManifestHeader(t *testing.T) {
	line := strings.Repeat("a", 64) + "  results.json\n"
	if m, err := ParseManifest([]byte(SealedBy() + "# another comment\n" + line)); err != nil || len(m) != 1 {
		t.Errorf("leading comments: %v %v", m, err)
	}
	if _, err := ParseManifest([]byte(line + "# sealed by x\n")); err == nil {
		t.Error("a comment after the first file line was accepted")
	}
	if h := SealedBy(); !strings.HasPrefix(h, "# sealed by virtcert dev") && !strings.HasPrefix(h, "# sealed by virtcert v") {
		t.Errorf("SealedBy = %q", h)
	}
}
