package seed

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/guests/transport/winrm"
)

// goldenDrive is the golden config drive files with the placeholders
// filled with w's password, thumbprint and PFX.
func goldenDrive(t *testing.T, w Windows) map[string][]byte {
	t.Helper()
	files, err := WindowsFiles(w)
	if err != nil {
		t.Fatal(err)
	}
	pfx := regexp.MustCompile(`FromBase64String\('([A-Za-z0-9+/=]+)'\)`).FindStringSubmatch(string(files[UserDataFile]))[1]
	fill := strings.NewReplacer("<PASSWORD>", w.Password.Reveal(), "<THUMBPRINT>", w.Cert.Thumbprint(), "<PFX>", pfx)
	out := map[string][]byte{}
	for path, golden := range map[string]string{MetaDataJSON: "windows-meta_data.json", UserDataFile: "windows-user_data.ps1"} {
		b, err := os.ReadFile(filepath.Join("testdata", golden))
		if err != nil {
			t.Fatal(err)
		}
		out[path] = []byte(fill.Replace(string(b)))
	}
	return out
}

// TestParseConfigDriveGolden: the golden files (the seed writer's format)
// parse into the writer's hostname, account, password and certificate.
func TestParseConfigDriveGolden(t *testing.T) {
	w := testWindows(t)
	cd, err := ParseConfigDrive(goldenDrive(t, w))
	if err != nil {
		t.Fatal(err)
	}
	if cd.Hostname != "vc-eb179a41fd6a" || cd.User != "Admin" || cd.InstanceID != "vc-20261203-193306-3dbf0d-h1-win" {
		t.Errorf("identity: %q %q %q", cd.Hostname, cd.User, cd.InstanceID)
	}
	if cd.Password.Reveal() != w.Password.Reveal() || cd.Port != "5986" || cd.Thumbprint != w.Cert.Thumbprint() {
		t.Errorf("password/port/thumbprint: port %q thumbprint %q", cd.Port, cd.Thumbprint)
	}
	if winrm.CertFingerprint(cd.Cert.Certificate[0]) != w.Cert.Pin() {
		t.Error("the parsed certificate is not the pinned one")
	}
}

// TestParseConfigDriveRoundTrip: WindowsFiles' output parses back.
func TestParseConfigDriveRoundTrip(t *testing.T) {
	w := testWindows(t)
	files, err := WindowsFiles(w)
	if err != nil {
		t.Fatal(err)
	}
	cd, err := ParseConfigDrive(files)
	if err != nil {
		t.Fatal(err)
	}
	if cd.Hostname != w.Hostname || cd.User != w.User || cd.Password.Reveal() != w.Password.Reveal() {
		t.Errorf("got %q %q", cd.Hostname, cd.User)
	}
}

// TestParseConfigDriveRefuses: a drive that would not configure the
// listener it claims is refused, naming what is wrong.
func TestParseConfigDriveRefuses(t *testing.T) {
	w := testWindows(t)
	for name, c := range map[string]struct {
		path, old, new, want string
	}{
		"no password":      {MetaDataJSON, `"admin_pass"`, `"x_pass"`, "admin_pass"},
		"bad json":         {MetaDataJSON, `{`, `[`, "meta_data.json"},
		"not ps1":          {UserDataFile, "#ps1_sysnative", "#cloud-config", "#ps1_sysnative"},
		"no listener":      {UserDataFile, "New-Item -Path 'WSMan", "#New-Item -Path 'WSMan", "no HTTPS listener"},
		"other thumbprint": {UserDataFile, "-ne '" + w.Cert.Thumbprint(), "-ne '" + strings.Repeat("A", 40), "thumbprint"},
		"other hostname":   {UserDataFile, "-HostName 'vc-eb179a41fd6a'", "-HostName 'other'", "listener names"},
		"bad pfx":          {UserDataFile, "FromBase64String('", "FromBase64String('AAAA", "PFX"},
	} {
		files := goldenDrive(t, w)
		files[c.path] = []byte(strings.Replace(string(files[c.path]), c.old, c.new, 1))
		_, err := ParseConfigDrive(files)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), w.Password.Reveal()) {
			t.Errorf("%s: the error holds the password", name)
		}
	}
}
