package seed

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHyperVDaemons: with HyperVDaemons the user-data's first runcmd
// enables the Hyper-V daemon units the image has (and only those, run
// against a stand-in systemctl that knows hv-kvp-daemon and hypervvssd);
// without it the user-data is unchanged.
func TestHyperVDaemons(t *testing.T) {
	c, _, _ := testConfig(t, "debian")
	plain := parseUserData(t, must(UserData(c)))
	for _, argv := range plain.RunCmd {
		if strings.Contains(strings.Join(argv, " "), "hv-kvp-daemon") {
			t.Fatalf("daemons enabled without HyperVDaemons: %q", argv)
		}
	}
	c.HyperVDaemons = true
	u := parseUserData(t, must(UserData(c)))
	if len(u.RunCmd) != len(plain.RunCmd)+1 || strings.Join(u.RunCmd[1:][0], " ") != strings.Join(plain.RunCmd[0], " ") {
		t.Fatalf("runcmd %q: want the daemons first, then the caller's", u.RunCmd)
	}
	argv := u.RunCmd[0]
	if len(argv) != 3 || argv[0] != "sh" || argv[1] != "-c" {
		t.Fatalf("runcmd[0] = %q", argv)
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	fake := "#!/bin/sh\necho \"$*\" >>" + log + "\ncase \"$1 $2\" in 'cat hv-kvp-daemon.service'|'cat hypervvssd.service') exit 0;; cat*) exit 1;; esac\nexit 0\n"
	if err := os.WriteFile(filepath.Join(dir, "systemctl"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("runcmd failed: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(log)
	var enabled []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "enable ") {
			enabled = append(enabled, l)
		}
	}
	if strings.Join(enabled, ";") != "enable --now hv-kvp-daemon.service;enable --now hypervvssd.service" {
		t.Fatalf("enabled %q, want exactly the two units the image has", enabled)
	}
}
