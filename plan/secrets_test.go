package plan

import (
	"errors"
	"strings"
	"testing"
)

// Regression (issue 11, finding 1): a password in a uri, written or
// expanded from ${VAR}, was accepted, saved in the bundle's plan.yaml and
// printed in errors. It is refused at load, naming the line and the
// fields to use instead, without repeating the password.
func TestURIPasswordRefused(t *testing.T) {
	t.Setenv("VC_TEST_URI", "qemu+ssh://root:hunter2@h/system")
	t.Setenv("VC_TEST_PW", "hunter2")
	for name, uri := range map[string]string{
		"written":         "qemu+ssh://root:hunter2@h/system",
		"whole from env":  "${VC_TEST_URI}",
		"password as var": "qemu+ssh://root:${VC_TEST_PW}@h/system",
		"unparseable":     "qemu+ssh://root:hunter2@h%zz/system",
	} {
		t.Run(name, func(t *testing.T) {
			text := "name: x\nhosts:\n  lab:\n    driver: libvirt\n    uri: \"" + uri + "\"\nimages:\n  tiny: {path: img/disk.qcow2}\n"
			_, err := Parse([]byte(text), "p.yaml", "testdata", know)
			if err == nil {
				t.Fatal("a password in the uri was accepted")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "p.yaml:5: hosts.lab.uri: ") || !strings.Contains(msg, "password_env") {
				t.Errorf("message does not name the line and point to password_env: %s", msg)
			}
			if strings.Contains(msg, "hunter2") {
				t.Errorf("message repeats the password: %s", msg)
			}
		})
	}
	_, err := FromFlags(Flags{URI: "qemu+ssh://root:hunter2@h/system", Image: "testdata/img/disk.qcow2"}, know)
	var pe Errors
	if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "--uri: ") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("--uri with a password: %v", err)
	}
}

// Regression (issue 11, finding 1): the run directory's plan.yaml held the
// value of every ${VAR}; it holds the uri as written, and loads again.
func TestResolvedKeepsVarsUnexpanded(t *testing.T) {
	t.Setenv("VC_TEST_HOST", "secret-host.example")
	text := "name: x\nhosts:\n  lab: {driver: libvirt, uri: \"qemu+ssh://root@${VC_TEST_HOST}/system\"}\nimages:\n  tiny: {path: img/disk.qcow2}\n"
	p, err := Parse([]byte(text), "p.yaml", "testdata", know)
	if err != nil {
		t.Fatal(err)
	}
	if p.Hosts["lab"].URI != "qemu+ssh://root@secret-host.example/system" {
		t.Fatalf("uri not expanded for the run: %s", p.Hosts["lab"].URI)
	}
	b, err := p.Resolved()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "secret-host") || !strings.Contains(string(b), "${VC_TEST_HOST}") {
		t.Fatalf("plan.yaml holds the expanded value:\n%s", b)
	}
	q, err := Parse(b, "plan.yaml", "", know)
	if err != nil {
		t.Fatal(err)
	}
	if q.Hosts["lab"].URI != p.Hosts["lab"].URI {
		t.Errorf("reloaded uri %s, want %s", q.Hosts["lab"].URI, p.Hosts["lab"].URI)
	}
}

// Regression (issue 11, finding 9): a key holding a newline (from
// "{0\r\r00}") gave a two-line message, cut to its first line on the
// terminal; control characters are escaped on one line.
func TestErrorOneLine(t *testing.T) {
	_, err := Parse([]byte("{0\r\r00}"), "p.yaml", "", know)
	if err == nil || strings.ContainsAny(err.Error(), "\r\n") || !strings.HasPrefix(err.Error(), "p.yaml:1: ") {
		t.Errorf("got %q", err)
	}
	_, err = Parse([]byte("name: x\nhosts:\n  lab: {driver: \"\x1b[31mlibvirt\"}\n"), "p.yaml", "", know)
	if err == nil || strings.ContainsRune(err.Error(), 0x1b) {
		t.Errorf("ESC reached the message: %q", err)
	}
}
