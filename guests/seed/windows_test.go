package seed

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests"
	"github.com/virtcert/virtcert/guests/transport/winrm"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testWindows(t *testing.T) Windows {
	t.Helper()
	host := WindowsHostname("vc-20261203-193306-3dbf0d-h1-win")
	cert, err := guests.NewWinRMCert(host)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := guests.NewAdminPassword()
	if err != nil {
		t.Fatal(err)
	}
	return Windows{InstanceID: "vc-20261203-193306-3dbf0d-h1-win", Hostname: host, User: "Admin", Password: pw, Cert: cert, StageDir: t.TempDir()}
}

// listenerRE is the one line that creates the WinRM HTTPS listener.
var listenerRE = regexp.MustCompile(`(?m)^New-Item -Path 'WSMan:\\localhost\\Listener' -Transport HTTPS -Address \* -HostName '([A-Za-z0-9-]{1,15})' -CertificateThumbPrint '([0-9A-F]{40})' -Force \| Out-Null$`)

// checkWindowsSeed is the strict reading of a config drive: it returns
// every way in which cloudbase-init, given these files, would not leave a
// WinRM HTTPS listener bound to w's certificate for w's admin account.
func checkWindowsSeed(files map[string][]byte, w Windows) []string {
	var bad []string
	md, ud := files[MetaDataJSON], files[UserDataFile]
	if md == nil || ud == nil {
		return []string{fmt.Sprintf("config drive lacks %s or %s (has %d files)", MetaDataJSON, UserDataFile, len(files))}
	}
	var m metaData
	if err := json.Unmarshal(md, &m); err != nil {
		bad = append(bad, "meta_data.json: "+err.Error())
	}
	if m.UUID != w.InstanceID || m.Hostname != w.Hostname {
		bad = append(bad, fmt.Sprintf("meta_data.json uuid %q hostname %q", m.UUID, m.Hostname))
	}
	if m.AdminPass != w.Password.Reveal() || m.Meta["admin_username"] != w.User {
		bad = append(bad, "meta_data.json does not carry the admin credential")
	}
	s := string(ud)
	if !strings.HasPrefix(s, "#ps1_sysnative\n") {
		bad = append(bad, "user_data is not a 64-bit PowerShell script for cloudbase-init (#ps1_sysnative)")
	}
	if strings.Contains(s, w.Password.Reveal()) {
		bad = append(bad, "user_data holds the password")
	}
	if strings.Contains(s, "\r") || strings.Contains(s, "{{") || strings.Contains(s, "<no value>") {
		bad = append(bad, "user_data has an unrendered template or CR")
	}
	lm := listenerRE.FindAllStringSubmatch(s, -1)
	// (The certificate names the hostname: Validate, which WindowsFiles
	// runs, refuses any other; TestWindowsValidate "cert for other".)
	if len(lm) != 1 || lm[0][2] != w.Cert.Thumbprint() || lm[0][1] != w.Hostname {
		bad = append(bad, fmt.Sprintf("user_data does not create exactly one HTTPS listener for %s on thumbprint %s: %v", w.Hostname, w.Cert.Thumbprint(), lm))
	}
	for _, want := range []string{
		"$ErrorActionPreference = 'Stop'\n",
		"-CertStoreLocation 'Cert:\\LocalMachine\\My'",
		"if ($cert.Thumbprint -ne '" + w.Cert.Thumbprint() + "')",
		"-Direction Inbound -Protocol TCP -LocalPort 5986 -Action Allow",
		"LocalAccountTokenFilterPolicy -Value 1",
		"Restart-Service -Name WinRM\n",
	} {
		if !strings.Contains(s, want) {
			bad = append(bad, "user_data lacks "+want)
		}
	}
	bad = append(bad, checkPFX(s, w.Cert)...)
	return bad
}

// checkPFX decodes the PFX the script imports: it must be w's
// certificate with its private key, under an empty password.
func checkPFX(script string, want *guests.WinRMCert) []string {
	m := regexp.MustCompile(`FromBase64String\('([A-Za-z0-9+/=]+)'\)`).FindStringSubmatch(script)
	if m == nil {
		return []string{"user_data carries no PFX"}
	}
	der, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil {
		return []string{"PFX base64: " + err.Error()}
	}
	key, cert, err := pkcs12.Decode(der, "")
	if err != nil {
		return []string{"PFX: " + err.Error()}
	}
	var bad []string
	if winrm.CertFingerprint(cert.Raw) != want.Pin() {
		bad = append(bad, "PFX certificate is not the pinned one")
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok || !rk.PublicKey.Equal(cert.PublicKey) {
		bad = append(bad, "PFX private key does not match its certificate")
	}
	if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		bad = append(bad, "certificate lacks the Server Authentication EKU a WinRM listener needs")
	}
	return bad
}

func TestWindowsSeed(t *testing.T) {
	w := testWindows(t)
	files, err := WindowsFiles(w)
	if err != nil {
		t.Fatal(err)
	}
	if bad := checkWindowsSeed(files, w); len(bad) > 0 {
		t.Fatalf("seed would not configure WinRM:\n%s", strings.Join(bad, "\n"))
	}
	if w.Cert.Pin() != winrm.CertFingerprint(w.Cert.DER) {
		t.Errorf("Pin %s is not the transport's fingerprint %s", w.Cert.Pin(), winrm.CertFingerprint(w.Cert.DER))
	}
}

// TestWindowsSeedChecker proves the checker above fails on seeds that
// would not configure the listener, so TestWindowsSeed cannot pass on one.
func TestWindowsSeedChecker(t *testing.T) {
	w := testWindows(t)
	good, err := WindowsFiles(w)
	if err != nil {
		t.Fatal(err)
	}
	other, err := guests.NewWinRMCert("other")
	if err != nil {
		t.Fatal(err)
	}
	otherPFX, err := other.PFX()
	if err != nil {
		t.Fatal(err)
	}
	ud := string(good[UserDataFile])
	listener := listenerRE.FindString(ud)
	pfx := regexp.MustCompile(`FromBase64String\('([A-Za-z0-9+/=]+)'\)`).FindStringSubmatch(ud)[1]
	const noListener = "user_data does not create exactly one HTTPS listener"
	// Each broken seed, and the complaint it must draw (not just any).
	mutate := map[string]struct {
		m    func(map[string][]byte)
		want string
	}{
		"no listener": {func(f map[string][]byte) { f[UserDataFile] = []byte(strings.Replace(ud, listener, "", 1)) }, noListener},
		"HTTP listener": {func(f map[string][]byte) {
			f[UserDataFile] = []byte(strings.Replace(ud, "-Transport HTTPS -Address", "-Transport HTTP -Address", 1))
		}, noListener},
		"other hostname": {func(f map[string][]byte) {
			f[UserDataFile] = []byte(strings.Replace(ud, "-HostName '"+w.Hostname+"'", "-HostName 'other'", 1))
		}, noListener},
		"other thumbprint": {func(f map[string][]byte) {
			f[UserDataFile] = []byte(strings.ReplaceAll(ud, w.Cert.Thumbprint(), other.Thumbprint()))
		}, noListener},
		"other PFX": {func(f map[string][]byte) {
			f[UserDataFile] = []byte(strings.Replace(ud, pfx, base64.StdEncoding.EncodeToString([]byte(otherPFX.Reveal())), 1))
		}, "PFX certificate is not the pinned one"},
		"no header": {func(f map[string][]byte) { f[UserDataFile] = []byte(strings.TrimPrefix(ud, "#ps1_sysnative\n")) }, "#ps1_sysnative"},
		"no firewall": {func(f map[string][]byte) {
			f[UserDataFile] = []byte(strings.Replace(ud, "-LocalPort 5986", "-LocalPort 5985", 1))
		}, "user_data lacks -Direction Inbound"},
		"errors go on": {func(f map[string][]byte) {
			f[UserDataFile] = []byte(strings.Replace(ud, "$ErrorActionPreference = 'Stop'\n", "", 1))
		}, "user_data lacks $ErrorActionPreference"},
		"unrendered":   {func(f map[string][]byte) { f[UserDataFile] = []byte(ud + "# {{.Port}}\n") }, "unrendered template"},
		"no user_data": {func(f map[string][]byte) { delete(f, UserDataFile) }, "config drive lacks"},
		"other instance": {func(f map[string][]byte) {
			f[MetaDataJSON] = bytes.Replace(f[MetaDataJSON], []byte(w.InstanceID), []byte("vc-other"), 1)
		}, "meta_data.json uuid"},
		"other password": {func(f map[string][]byte) {
			f[MetaDataJSON] = bytes.Replace(f[MetaDataJSON], []byte(w.Password.Reveal()), []byte("x"), 1)
		}, "does not carry the admin credential"},
		"password in script": {func(f map[string][]byte) {
			f[UserDataFile] = []byte(ud + "# " + w.Password.Reveal() + "\n")
		}, "user_data holds the password"},
	}
	for name, c := range mutate {
		f := map[string][]byte{MetaDataJSON: bytes.Clone(good[MetaDataJSON]), UserDataFile: []byte(ud)}
		c.m(f)
		bad := checkWindowsSeed(f, w)
		if len(bad) == 0 {
			t.Errorf("%s: checker passed a seed that would not configure WinRM", name)
		} else if !strings.Contains(strings.Join(bad, "\n"), c.want) {
			t.Errorf("%s: checker failed it, but not with %q:\n%s", name, c.want, strings.Join(bad, "\n"))
		}
	}
}

// TestWindowsSeedGolden compares the files with testdata, the generated
// secrets and certificate replaced by placeholders.
func TestWindowsSeedGolden(t *testing.T) {
	w := testWindows(t)
	files, err := WindowsFiles(w)
	if err != nil {
		t.Fatal(err)
	}
	pfx := regexp.MustCompile(`FromBase64String\('([A-Za-z0-9+/=]+)'\)`).FindStringSubmatch(string(files[UserDataFile]))
	if pfx == nil {
		t.Fatal("user_data carries no PFX")
	}
	for path, golden := range map[string]string{MetaDataJSON: "windows-meta_data.json", UserDataFile: "windows-user_data.ps1"} {
		got := strings.NewReplacer(w.Password.Reveal(), "<PASSWORD>", w.Cert.Thumbprint(), "<THUMBPRINT>", pfx[1], "<PFX>").Replace(string(files[path]))
		gp := filepath.Join("testdata", golden)
		if *update {
			if err := os.WriteFile(gp, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(gp)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from %s:\n%s", path, gp, got)
		}
	}
}

func TestWindowsValidate(t *testing.T) {
	for name, m := range map[string]func(*Windows){
		"no id":          func(w *Windows) { w.InstanceID = "" },
		"bad hostname":   func(w *Windows) { w.Hostname = "a b" },
		"long hostname":  func(w *Windows) { w.Hostname = "vc-20261203-193306" },
		"digit hostname": func(w *Windows) { w.Hostname = "123" },
		"cert for other": func(w *Windows) { w.Hostname = "vc-other" },
		"bad user":       func(w *Windows) { w.User = "a;b" },
		"short password": func(w *Windows) { w.Password = drivers.Secret("short") },
		"no cert":        func(w *Windows) { w.Cert = nil },
	} {
		w := testWindows(t)
		m(&w)
		if _, err := WindowsFiles(w); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestWindowsISO reads the config drive back: label config-2 and the
// files under openstack/latest, as cloudbase-init finds them.
func TestWindowsISO(t *testing.T) {
	w := testWindows(t)
	img, err := BuildWindows(w)
	if err != nil {
		t.Fatal(err)
	}
	fs, p := openISO(t, img, ConfigDriveLabel)
	files := map[string][]byte{}
	for _, f := range []string{MetaDataJSON, UserDataFile} {
		b, err := fs.ReadFile(f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		files[f] = b
	}
	if bad := checkWindowsSeed(files, w); len(bad) > 0 {
		t.Fatalf("config drive read back:\n%s", strings.Join(bad, "\n"))
	}
	if runtime.GOOS != "linux" {
		return
	}
	if isoinfo, err := exec.LookPath("isoinfo"); err == nil {
		out, err := exec.Command(isoinfo, "-R", "-f", "-i", p).Output()
		if err != nil {
			t.Fatalf("isoinfo -f: %v", err)
		}
		for _, want := range []string{"/openstack/latest/meta_data.json", "/openstack/latest/user_data"} {
			if !strings.Contains(string(out), want+"\n") {
				t.Errorf("isoinfo -R -f lacks %s:\n%s", want, out)
			}
		}
	}
}

// TestWinRMCertSecrets: the certificate's and the password's printed
// forms never hold the key or the password.
func TestWinRMCertSecrets(t *testing.T) {
	w := testWindows(t)
	pfx, err := w.Cert.PFX()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(w.Cert), fmt.Sprintf("%#v", w.Cert), fmt.Sprint(w.Password), fmt.Sprint(pfx)} {
		if strings.Contains(s, w.Password.Reveal()) || strings.Contains(s, "PRIVATE") || len(s) > 120 {
			t.Errorf("printed form leaks: %q", s)
		}
	}
	if !regexp.MustCompile(`[A-Z]`).MatchString(w.Password.Reveal()) || !regexp.MustCompile(`[0-9]`).MatchString(w.Password.Reveal()) {
		t.Errorf("password lacks complexity classes")
	}
}

// TestWindowsUserDataSyntax parses the golden user_data with the real
// PowerShell grammar the Hyper-V scripts are checked with (tree-sitter,
// set up by drivers/hyperv/testdata/psparse/setup.sh, `make deps`; its
// own test, TestSyntaxCheckerCatchesErrors, shows it rejects a broken
// script).
func TestWindowsUserDataSyntax(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed: PowerShell syntax check skipped")
	}
	dir, _ := filepath.Abs(filepath.Join("..", "..", "drivers", "hyperv", "testdata", "psparse"))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "tree-sitter-powershell", "tree-sitter-powershell.wasm")); err != nil {
		t.Skip("tree-sitter-powershell not installed: make deps")
	}
	// The golden file with its placeholders filled as the seed fills them.
	b, err := os.ReadFile(filepath.Join("testdata", "windows-user_data.ps1"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "user_data.ps1")
	src := strings.NewReplacer("<PFX>", "TUlJ", "<THUMBPRINT>", strings.Repeat("AB", 20)).Replace(string(b))
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	// --liftoff-only keeps V8 from optimising the 1 MB grammar (seconds
	// of CPU); an older node exits 9 on it: run without.
	args := []string{"--liftoff-only", filepath.Join(dir, "check.cjs"), p}
	out, err := exec.Command(node, args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 9 {
		out, err = exec.Command(node, args[1:]...).CombinedOutput()
	}
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 2 {
		t.Fatalf("checker broke: %s", out)
	} else if err != nil {
		t.Errorf("user_data does not parse as PowerShell (%v):\n%s", err, out)
	}
}
