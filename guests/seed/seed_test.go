package seed

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
	"go.yaml.in/yaml/v3"

	"github.com/virtcert/virtcert/guests"
)

func testConfig(t *testing.T, user string) (Config, *guests.ClientKey, *guests.HostKey) {
	t.Helper()
	ck, err := guests.NewClientKey("virtcert-run")
	if err != nil {
		t.Fatal(err)
	}
	hk, err := guests.NewHostKey("guest-host")
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		InstanceID:     "vc-run1-g1",
		Hostname:       "vc-g1",
		User:           user,
		AuthorizedKeys: []string{ck.AuthorizedKey()},
		HostKey:        hk,
		NetworkConfig:  []byte("version: 2\nethernets:\n  all:\n    match: {name: \"e*\"}\n    dhcp4: true\n"),
		RunCmd:         [][]string{{"touch", "/run/virtcert-seeded"}},
		StageDir:       t.TempDir(),
	}, ck, hk
}

// parsedUserData is what cloud-init would read from our user-data.
type parsedUserData struct {
	Hostname          string   `yaml:"hostname"`
	PreserveHostname  bool     `yaml:"preserve_hostname"`
	SSHPwauth         bool     `yaml:"ssh_pwauth"`
	DisableRoot       *bool    `yaml:"disable_root"`
	SSHAuthorizedKeys []string `yaml:"ssh_authorized_keys"`
	Users             []struct {
		Name              string   `yaml:"name"`
		Sudo              string   `yaml:"sudo"`
		Shell             string   `yaml:"shell"`
		LockPasswd        bool     `yaml:"lock_passwd"`
		SSHAuthorizedKeys []string `yaml:"ssh_authorized_keys"`
	} `yaml:"users"`
	SSHDeleteKeys  *bool             `yaml:"ssh_deletekeys"`
	SSHGenKeyTypes []string          `yaml:"ssh_genkeytypes"`
	SSHKeys        map[string]string `yaml:"ssh_keys"`
	RunCmd         [][]string        `yaml:"runcmd"`
	NTP            *struct {
		Enabled bool     `yaml:"enabled"`
		Servers []string `yaml:"servers"`
		Pools   []string `yaml:"pools"`
	} `yaml:"ntp"`
}

func parseUserData(t *testing.T, b []byte) parsedUserData {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("#cloud-config\n")) {
		t.Fatalf("user-data does not start with #cloud-config: %.30q", b)
	}
	var u parsedUserData
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&u); err != nil {
		t.Fatalf("user-data does not parse: %v\n%s", err, b)
	}
	return u
}

func TestUserDataRoot(t *testing.T) {
	c, ck, hk := testConfig(t, "root")
	b, err := UserData(c)
	if err != nil {
		t.Fatal(err)
	}
	u := parseUserData(t, b)
	if u.DisableRoot == nil || *u.DisableRoot {
		t.Error("root login needs disable_root: false")
	}
	if len(u.Users) != 0 {
		t.Errorf("root seed declares users %v", u.Users)
	}
	if len(u.SSHAuthorizedKeys) != 1 || u.SSHAuthorizedKeys[0] != ck.AuthorizedKey() {
		t.Errorf("ssh_authorized_keys = %q", u.SSHAuthorizedKeys)
	}
	checkHostKey(t, u, hk)
	if u.Hostname != "vc-g1" {
		t.Errorf("hostname %q", u.Hostname)
	}
	if len(u.RunCmd) != 1 || strings.Join(u.RunCmd[0], " ") != "touch /run/virtcert-seeded" {
		t.Errorf("runcmd %q", u.RunCmd)
	}
	// The tiny guest's init greps for these exact shapes (see
	// fixtures/guests/tiny/init): one "  - <key>" line per key and the
	// private key as a literal block under "  ed25519_private: |".
	for _, want := range []string{"\nssh_authorized_keys:\n  - " + ck.AuthorizedKey() + "\n", "\n  ed25519_private: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("user-data lacks %q:\n%s", want, b)
		}
	}
}

func checkHostKey(t *testing.T, u parsedUserData, hk *guests.HostKey) {
	t.Helper()
	if u.SSHDeleteKeys == nil || !*u.SSHDeleteKeys || u.SSHGenKeyTypes == nil || len(u.SSHGenKeyTypes) != 0 {
		t.Errorf("image host keys must be deleted and none generated: deletekeys=%v genkeytypes=%v", u.SSHDeleteKeys, u.SSHGenKeyTypes)
	}
	kp, err := guests.ParseKeyPair([]byte(u.SSHKeys["ed25519_private"]))
	if err != nil {
		t.Fatalf("ed25519_private: %v", err)
	}
	if kp.Fingerprint() != hk.Fingerprint() {
		t.Errorf("seeded host key %s, want %s", kp.Fingerprint(), hk.Fingerprint())
	}
	if u.SSHKeys["ed25519_public"] != hk.AuthorizedKey() {
		t.Errorf("ed25519_public %q", u.SSHKeys["ed25519_public"])
	}
}

func TestUserDataUser(t *testing.T) {
	c, ck, hk := testConfig(t, "debian")
	b, err := UserData(c)
	if err != nil {
		t.Fatal(err)
	}
	u := parseUserData(t, b)
	if len(u.Users) != 1 || u.Users[0].Name != "debian" || u.Users[0].Sudo != "ALL=(ALL) NOPASSWD:ALL" {
		t.Fatalf("users = %+v", u.Users)
	}
	if len(u.Users[0].SSHAuthorizedKeys) != 1 || u.Users[0].SSHAuthorizedKeys[0] != ck.AuthorizedKey() {
		t.Errorf("user keys = %q", u.Users[0].SSHAuthorizedKeys)
	}
	if u.DisableRoot != nil {
		t.Errorf("disable_root set for a non-root user")
	}
	checkHostKey(t, u, hk)
}

// TestUserDataNTP: NTP servers become cloud-init's ntp module with those
// servers and no pools (so the guest uses the lab's server only); none
// leaves the image's own time configuration alone.
func TestUserDataNTP(t *testing.T) {
	c, _, _ := testConfig(t, "debian")
	u := parseUserData(t, must(UserData(c)))
	if u.NTP != nil {
		t.Errorf("no NTP servers given, but user-data has ntp: %+v", u.NTP)
	}
	c.NTPServers = []string{"192.168.150.1", "time.example.org"}
	u = parseUserData(t, must(UserData(c)))
	if u.NTP == nil || !u.NTP.Enabled || strings.Join(u.NTP.Servers, ",") != "192.168.150.1,time.example.org" || len(u.NTP.Pools) != 0 {
		t.Errorf("ntp = %+v", u.NTP)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestNoHostKey(t *testing.T) {
	c, _, _ := testConfig(t, "debian")
	c.HostKey = nil
	b, err := UserData(c)
	if err != nil {
		t.Fatal(err)
	}
	u := parseUserData(t, b)
	if u.SSHKeys != nil || u.SSHDeleteKeys != nil || u.SSHGenKeyTypes != nil {
		t.Errorf("without a host key, the image's keys must be left alone: %+v", u)
	}
}

func TestValidate(t *testing.T) {
	good, _, _ := testConfig(t, "root")
	for name, mut := range map[string]func(*Config){
		"no instance id":       func(c *Config) { c.InstanceID = "" },
		"id with newline":      func(c *Config) { c.InstanceID = "a\nb" },
		"bad hostname":         func(c *Config) { c.Hostname = "a b" },
		"hostname injection":   func(c *Config) { c.Hostname = "x\nruncmd: [reboot]" },
		"bad user":             func(c *Config) { c.User = "Root;" },
		"no keys":              func(c *Config) { c.AuthorizedKeys = nil },
		"multi-line key":       func(c *Config) { c.AuthorizedKeys = []string{"ssh-ed25519 AAAA a\nssh-rsa BBBB b"} },
		"bad network-config":   func(c *Config) { c.NetworkConfig = []byte("a: [") },
		"empty runcmd argv":    func(c *Config) { c.RunCmd = [][]string{{}} },
		"host key without key": func(c *Config) { c.HostKey = &guests.HostKey{} },
		"NTP server injection": func(c *Config) { c.NTPServers = []string{"10.0.0.1\npools: [pool.ntp.org]"} },
		"NTP server empty":     func(c *Config) { c.NTPServers = []string{""} },
	} {
		c := good
		mut(&c)
		if _, err := Build(c); err == nil {
			t.Errorf("%s: Build accepted it", name)
		}
	}
	if _, err := Build(good); err != nil {
		t.Fatalf("good config: %v", err)
	}
}

// readISO reads the image back with go-diskfs (pure Go, always
// available): its label must be Label; every file of its root.
func readISO(t *testing.T, img []byte) map[string][]byte {
	t.Helper()
	fs, _ := openISO(t, img, Label)
	out := map[string][]byte{}
	ents, err := fs.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := fs.ReadFile(e.Name())
		if err != nil {
			t.Fatalf("read %s: %v", e.Name(), err)
		}
		out[e.Name()] = b
	}
	return out
}

// openISO writes img to a file and opens it with go-diskfs, checking
// its volume label; it returns the filesystem and the file's path.
func openISO(t *testing.T, img []byte, label string) (*iso9660.FileSystem, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "seed.iso")
	if err := os.WriteFile(p, img, 0o600); err != nil {
		t.Fatal(err)
	}
	be, err := file.OpenFromPath(p, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	fs, err := iso9660.Read(be, int64(len(img)), 0, 2048)
	if err != nil {
		t.Fatalf("read back iso: %v", err)
	}
	// The volume identifier field is fixed-width; go-diskfs returns the
	// padding with it.
	if l := strings.TrimRight(fs.Label(), "\x00 "); l != label {
		t.Errorf("label %q, want %q", l, label)
	}
	return fs, p
}

func TestBuildISO(t *testing.T) {
	c, _, hk := testConfig(t, "root")
	want, err := Files(c)
	if err != nil {
		t.Fatal(err)
	}
	img, err := ISO(t.TempDir(), want)
	if err != nil {
		t.Fatal(err)
	}
	if len(img)%2048 != 0 || len(img) > 256<<10 {
		t.Errorf("image size %d: want whole 2 KiB sectors and a small image", len(img))
	}
	got := readISO(t, img)
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("%s in the ISO differs from what was built:\n%s", name, got[name])
		}
	}
	if len(got) != len(want) {
		t.Errorf("ISO holds %d files, want %d", len(got), len(want))
	}
	u := parseUserData(t, got["user-data"])
	checkHostKey(t, u, hk)
	var md map[string]string
	if err := yaml.Unmarshal(got["meta-data"], &md); err != nil || md["instance-id"] != "vc-run1-g1" || md["local-hostname"] != "vc-g1" {
		t.Errorf("meta-data %q (%v)", got["meta-data"], err)
	}
	if _, ok := got["network-config"]; !ok {
		t.Error("network-config missing")
	}

	// Without network-config the file is absent (cloud-init then uses the
	// image's own network setup).
	c.NetworkConfig = nil
	img2, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := readISO(t, img2)["network-config"]; ok {
		t.Error("network-config written although none was asked for")
	}
}

// With the Debian tools installed, check the image the way cloud-init and
// the tiny guest find it: blkid's LABEL and Rock Ridge file names.
func TestISOWithSystemTools(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("isoinfo/blkid checks run on Linux")
	}
	c, _, _ := testConfig(t, "debian")
	p := filepath.Join(t.TempDir(), "seed.iso")
	if err := WriteFile(p, c); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("seed file mode: %v %v (it holds the host's private key)", st.Mode(), err)
	}
	ran := false
	if blkid, err := exec.LookPath("blkid"); err == nil {
		ran = true
		out, err := exec.Command(blkid, "-o", "export", p).Output()
		if err != nil {
			t.Fatalf("blkid: %v", err)
		}
		if !strings.Contains(string(out), "LABEL=cidata\n") || !strings.Contains(string(out), "TYPE=iso9660\n") {
			t.Errorf("blkid says:\n%s", out)
		}
	}
	if isoinfo, err := exec.LookPath("isoinfo"); err == nil {
		ran = true
		out, err := exec.Command(isoinfo, "-d", "-i", p).Output()
		if err != nil {
			t.Fatalf("isoinfo -d: %v", err)
		}
		for _, w := range []string{"Volume id: cidata", "Rock Ridge signatures", "Joliet"} {
			if !strings.Contains(string(out), w) {
				t.Errorf("isoinfo -d lacks %q:\n%s", w, out)
			}
		}
		out, err = exec.Command(isoinfo, "-R", "-f", "-i", p).Output()
		if err != nil {
			t.Fatalf("isoinfo -R -f: %v", err)
		}
		names := strings.Fields(string(out))
		if strings.Join(names, " ") != "/meta-data /network-config /user-data" {
			t.Errorf("Rock Ridge names %q", names)
		}
		ud, err := exec.Command(isoinfo, "-R", "-x", "/user-data", "-i", p).Output()
		if err != nil {
			t.Fatal(err)
		}
		img, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		want := readISO(t, img)["user-data"]
		if !bytes.Equal(ud, want) || !bytes.HasPrefix(ud, []byte("#cloud-config\n")) {
			t.Errorf("isoinfo extracts different user-data:\n%q\nwant\n%q", ud, want)
		}
	}
	if !ran {
		t.Skip("neither blkid nor isoinfo installed (util-linux, genisoimage)")
	}
}

func TestISORejectsPaths(t *testing.T) {
	for _, name := range []string{"", "a/b", "../x", ".", "..", "a\\b"} {
		if _, err := ISO(t.TempDir(), map[string][]byte{name: []byte("x")}); err == nil {
			t.Errorf("ISO accepted file name %q", name)
		}
	}
}
