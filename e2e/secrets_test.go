package e2e

// Secrets and trust through the real binary (issue 6, part 6):
//   - a run that used a password (a hyperv host: the simulated Hyper-V
//     host of fixtures/hypervsim, WinRM over HTTPS with Basic/NTLM, each
//     VM backed by a tiny guest on the lab) leaves the password and the
//     per-run private key in no artifact, output or debug log; the key
//     file is 0600 during the run and gone after it;
//   - a guest presenting another SSH host key than the pinned one stops
//     with a SECURITY error (exit 2).

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/fixtures/hypervsim"
)

const simParentPath = `C:\images\virtcert-tiny.vhdx`

func TestSecretsStayOut(t *testing.T) {
	need(t)
	t.Parallel()
	guestSlot(t)
	d := tinyDir()
	cmdline, _ := os.ReadFile(filepath.Join(d, "cmdline"))
	var rb [12]byte
	rand.Read(rb[:])
	password := "Vc-S3cret-" + hex.EncodeToString(rb[:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sim, err := hypervsim.Start(ctx, hypervsim.Options{
		LabURI: os.Getenv("VIRTCERT_LAB_URI"), Users: map[string]string{"vcadmin": password}, Dir: t.TempDir(),
		Images: map[string]drivers.Image{simParentPath: {
			Path: filepath.Join(d, "disk.qcow2"), Format: "qcow2", OS: "linux", Firmware: "bios",
			Kernel: filepath.Join(d, "vmlinuz"), Initrd: filepath.Join(d, "initrd.img"), Cmdline: strings.TrimSpace(string(cmdline)),
		}},
	})
	if err != nil {
		t.Fatalf("simulated Hyper-V host: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	plan := filepath.Join(t.TempDir(), "plan.yaml")
	os.WriteFile(plan, []byte(`name: e2e-secrets
hosts:
  hv:
    driver: hyperv
    uri: `+sim.URL+`
    username: vcadmin
    password_env: VC_E2E_WINRM_PASSWORD
    ca_cert: `+sim.CAFile+`
    options: {generation: "1", address_timeout: 3m}
images:
  tiny: {path: '`+simParentPath+`', format: vhdx, memory_mb: 256}
timeouts: {provision: 3m, ready: 4m, destroy: 3s, run: 15m}
suites: [e2e]
`), 0o644)
	out := filepath.Join(t.TempDir(), "run")
	t0 := time.Now()
	kd := t.TempDir()
	p := start(t, []string{"VC_E2E_WINRM_PASSWORD=" + password, "VIRTCERT_KEY_DIR=" + kd}, "run", "--plan", plan, "--out", out, "-v")

	// The per-run private key: 0600 while the run needs it, outside the
	// run directory (VIRTCERT_KEY_DIR/<label>/id_ed25519).
	var keyFile string
	var key []byte
	for key == nil {
		if ks, _ := filepath.Glob(filepath.Join(kd, "*", "id_ed25519")); len(ks) == 1 {
			keyFile = ks[0]
		}
		if st, err := os.Stat(keyFile); keyFile != "" && err == nil {
			if st.Mode().Perm() != 0o600 {
				t.Errorf("per-run private key %s has mode %o, want 0600", keyFile, st.Mode().Perm())
			}
			if b, err := os.ReadFile(keyFile); err == nil && len(b) > 0 {
				key = b
			}
		}
		select {
		case <-p.done:
			if key == nil {
				t.Fatalf("run ended (exit %d) before the key file was seen\n%s\n%s", p.code, p.out(), p.errOut())
			}
		case <-time.After(50 * time.Millisecond):
		}
	}
	code := p.wait(t, 12*time.Minute)
	stdout, stderr := p.out(), p.errOut()
	t.Logf("hyperv (simulated) run with a password: exit %d after %s", code, time.Since(t0).Round(time.Second))
	label := labelOf(t, stdout)
	defer assertClean(t, label)
	if code != 0 {
		t.Errorf("exit %d, want 0\nstdout:\n%s\nstderr (tail):\n%s", code, stdout, tail(stderr, 40))
	}
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Errorf("per-run private key still there after the run: %v", err)
	}
	if strings.Count(stderr, "\n") < 5 {
		t.Errorf("-v wrote almost no debug log (%d lines): the grep would prove little", strings.Count(stderr, "\n"))
	}

	// What must appear nowhere: the password, its base64 (Basic auth
	// header), and the private key's PEM body lines.
	needles := map[string]string{"password": password, "password (base64 Basic)": base64.StdEncoding.EncodeToString([]byte("vcadmin:" + password))}
	n := 0
	for _, l := range strings.Split(string(key), "\n") {
		if l = strings.TrimSpace(l); len(l) >= 40 && !strings.HasPrefix(l, "-----") {
			needles["private key line "+string(rune('0'+n))] = l
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no PEM body in the key file: the test would prove nothing")
	}
	if raw, err := ssh.ParseRawPrivateKey(key); err == nil {
		if k, ok := raw.(*ed25519.PrivateKey); ok {
			needles["private key seed (hex)"] = hex.EncodeToString(k.Seed())
		}
	}
	haystacks := map[string][]byte{"stdout": []byte(stdout), "stderr (-v debug log)": []byte(stderr)}
	files := 0
	filepath.Walk(out, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(out, p)
			haystacks[rel] = b
			files++
		}
		return nil
	})
	for _, must := range []string{"journal.jsonl", "results.json", "junit.xml", "report.html", "plan.yaml", "manifest"} {
		if _, ok := haystacks[must]; !ok {
			t.Errorf("run directory lacks %s", must)
		}
	}
	console := false
	for name := range haystacks {
		if strings.HasSuffix(name, "console.log") {
			console = true
		}
	}
	if !console {
		// The simulated Hyper-V host serves no serial console (a real
		// one would through a named pipe): nothing to grep there.
		t.Logf("no console log in the run directory (hyperv driver)")
	}
	for name, hay := range haystacks {
		for what, needle := range needles {
			if bytes.Contains(hay, []byte(needle)) {
				t.Errorf("%s found in %s", what, name)
			}
		}
		if regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`).Match(hay) {
			t.Errorf("a PEM private key block in %s", name)
		}
	}
	t.Logf("grepped %d files + stdout + stderr (%d debug lines) for %d secrets", files, strings.Count(stderr, "\n"), len(needles))
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// A kept guest, certified with the existing driver and the kept key, but
// with another host key pinned in the plan: the guest's real key does not
// match, so the run stops for it with a SECURITY error and exit 2.
func TestSecretsHostKeyChanged(t *testing.T) {
	need(t)
	t.Parallel()
	guestSlot(t)
	out := filepath.Join(t.TempDir(), "run")
	kd := t.TempDir()
	code, stdout, stderr := virtcert(t, []string{"VIRTCERT_E2E_FAIL=1", "VIRTCERT_KEY_DIR=" + kd}, 8*time.Minute,
		"run", "--plan", tinyPlan(t, "suites: [e2e.fail]\n"), "--out", out, "--keep-on-failure")
	label := labelOf(t, stdout)
	defer assertClean(t, label)
	defer virtcert(t, nil, 2*time.Minute, "sweep", "--uri", "lab", "--run", label)
	if code != 1 {
		t.Fatalf("keep a failed guest: exit %d\n%s%s", code, stdout, stderr)
	}
	run := readRun(t, out)
	addr := run.Targets[0].Guest.Address
	pk, _, _ := ed25519.GenerateKey(rand.Reader)
	spk, _ := ssh.NewPublicKey(pk)
	wrong := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(spk)))
	ex := filepath.Join(t.TempDir(), "existing.yaml")
	os.WriteFile(ex, []byte("name: existing\nhosts:\n  vm: {driver: existing, uri: 'ssh://root@"+addr+"'}\n"+
		"images:\n  it: {key_file: "+filepath.Join(kd, label, "id_ed25519")+", host_key: '"+wrong+"'}\n"+
		"timeouts: {ready: 90s}\nsuites: [e2e.uname]\n"), 0o644)
	t0 := time.Now()
	code, so, se := virtcert(t, nil, 5*time.Minute, "run", "--plan", ex, "--out", filepath.Join(t.TempDir(), "ex"))
	t.Logf("changed host key: exit %d after %s\n%s%s", code, time.Since(t0).Round(time.Second), so, se)
	if code != 2 {
		t.Errorf("exit %d, want 2 (security error)", code)
	}
	msg := oneLine(t, se)
	if !strings.HasPrefix(strings.TrimPrefix(msg, "virtcert: "), "SECURITY:") || !regexp.MustCompile(`(?i)host key`).MatchString(msg) {
		t.Errorf("message %q is not a clear SECURITY host-key error", msg)
	}
	if len(leftovers(t, label)) == 0 {
		t.Errorf("the kept guest vanished: the existing driver must not destroy it")
	}
}
