package diag

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/guests"
	"github.com/virtcert/virtcert/guests/seed"
)

func TestSplitSections(t *testing.T) {
	c := For("linux", "abc123")
	out := "noise\n" + marker("abc123", "dmesg.txt") + "\n[0.0] Linux\n" +
		marker("wrong", "journal.txt") + "\n" + // a guest's own line, not ours
		marker("abc123", "journal.txt") + "\nnot available: no journalctl\n" +
		marker("abc123", "ip-addr.txt") + "\n1: lo\n"
	secs := c.Split([]byte(out))
	got := map[string]string{}
	for _, s := range secs {
		got[s.File] = string(s.Data)
	}
	want := map[string]string{
		"dmesg.txt":   "[0.0] Linux\n" + marker("wrong", "journal.txt") + "\n",
		"journal.txt": "not available: no journalctl\n",
		"ip-addr.txt": "1: lo\n",
	}
	if len(got) != len(want) {
		t.Fatalf("sections %v, want %v", got, want)
	}
	for f, w := range want {
		if got[f] != w {
			t.Errorf("%s = %q, want %q", f, got[f], w)
		}
	}
	if len(c.Files()) != 8 || c.Files()[0] != "dmesg.txt" {
		t.Errorf("Files = %v", c.Files())
	}
}

func TestSectionBound(t *testing.T) {
	c := For("linux", "ff")
	big := bytes.Repeat([]byte("x"), MaxSection+1)
	secs := c.Split(append([]byte(marker("ff", "dmesg.txt")+"\n"), big...))
	if len(secs) != 1 || !secs[0].Cut {
		t.Fatalf("want one cut section, got %d", len(secs))
	}
	if n := len(secs[0].Data); n != MaxSection+len(Truncated) || !bytes.HasSuffix(secs[0].Data, []byte(Truncated)) {
		t.Errorf("cut section is %d bytes, want %d ending with the marker", n, MaxSection+len(Truncated))
	}
	exact := c.Split(append([]byte(marker("ff", "dmesg.txt")+"\n"), big[:MaxSection]...))
	if exact[0].Cut {
		t.Error("a section of exactly MaxSection bytes was marked cut")
	}
}

func TestWindowsCommand(t *testing.T) {
	c := For("windows", "ff")
	if !strings.Contains(c.Cmd, "Get-WinEvent -LogName System -MaxEvents 500 | Format-List") {
		t.Errorf("windows command %q", c.Cmd)
	}
	secs := c.Split([]byte("TimeCreated : x\nMessage : y\n"))
	if len(secs) != 1 || secs[0].File != WindowsFile || len(c.Files()) != 1 {
		t.Errorf("windows sections %+v", secs)
	}
}

// TestScriptRuns runs the Linux script in the local shell: every section
// comes back, in order, and what a host lacks is "not available".
func TestScriptRuns(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	c := For("linux", "0a1b")
	out, err := exec.Command("sh", "-c", c.Cmd).Output()
	if err != nil {
		t.Fatalf("script: %v", err)
	}
	secs := c.Split(out)
	if len(secs) != len(c.Files()) {
		t.Fatalf("got %d sections, want %d:\n%s", len(secs), len(c.Files()), out)
	}
	for i, s := range secs {
		if s.File != c.Files()[i] || len(s.Data) == 0 {
			t.Errorf("section %d: %s with %d bytes", i, s.File, len(s.Data))
		}
	}
}

// TestScrubSeed: a cloud-init log that echoes the seed's user-data keeps
// none of its key material, nor a password; harmless lines and the
// public key stay.
func TestScrubSeed(t *testing.T) {
	hk, err := guests.NewHostKey("test")
	if err != nil {
		t.Fatal(err)
	}
	ck, err := guests.NewClientKey("test")
	if err != nil {
		t.Fatal(err)
	}
	files, err := seed.Files(seed.Config{InstanceID: "i", Hostname: "h", User: "root", AuthorizedKeys: []string{ck.AuthorizedKey()}, HostKey: hk})
	if err != nil {
		t.Fatal(err)
	}
	userData := files["user-data"]
	body := pemBody(userData)
	if len(body) == 0 {
		t.Fatal("test premise: the user-data carries the private host key")
	}
	log := "2026-12-03 cloud-init[1]: Writing user-data\n" + string(userData) +
		"\nrepr: {'ed25519_private': '-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjE=\\n-----END OPENSSH PRIVATE KEY-----\\n'}\n" +
		"chpasswd: {list: 'root:hunter2'}\npassword: hunter2\nkernel: ok line\n"
	got := string(Scrub([]byte(log)))
	for _, l := range strings.Split(string(body), "\n") {
		if l != "" && strings.Contains(got, l) {
			t.Errorf("scrubbed log still holds key material %q", l)
		}
	}
	for _, s := range []string{"PRIVATE KEY", "hunter2", "b3BlbnNzaC1rZXktdjE"} {
		if strings.Contains(got, s) {
			t.Errorf("scrubbed log still holds %q:\n%s", s, got)
		}
	}
	if !strings.Contains(got, "kernel: ok line\n") || !strings.Contains(got, "Writing user-data\n") {
		t.Errorf("scrub removed harmless lines:\n%s", got)
	}
	if !strings.Contains(got, Removed) {
		t.Error("no line marked as removed")
	}
	if !strings.Contains(got, strings.Fields(ck.AuthorizedKey())[1]) {
		t.Error("scrub removed the public authorized key")
	}
}

// pemBody is the base64 of every PEM block in b (the lines that must go).
func pemBody(b []byte) []byte {
	var out []byte
	in := false
	for _, l := range bytes.Split(b, []byte("\n")) {
		t := bytes.TrimSpace(l)
		switch {
		case bytes.Contains(t, []byte("-----BEGIN")):
			in = true
		case bytes.Contains(t, []byte("-----END")):
			in = false
		case in:
			out = append(out, t...)
			out = append(out, '\n')
		}
	}
	return out
}
