//go:build unix

package plan

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Regression (issue 11, finding 6): --plan /dev/zero read until memory
// ran out, a 50 MB plan was accepted, and a 50 MB name reached every
// report. Plans are regular files of at most 1 MiB, strings are bounded.
func TestPlanBounds(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	os.WriteFile(big, []byte("name: x\n"+strings.Repeat("# pad\n", MaxPlanBytes/6+1)), 0o644)
	longName := filepath.Join(dir, "name.yaml")
	os.WriteFile(longName, []byte("name: "+strings.Repeat("n", 300_000)+"\nhosts: {}\n"), 0o644)
	longPath := filepath.Join(dir, "path.yaml")
	os.WriteFile(longPath, []byte("name: x\nhosts:\n  h: {driver: libvirt, uri: 'qemu:///system'}\nimages:\n  i: {path: /"+strings.Repeat("p", 5000)+"}\n"), 0o644)
	ctl := filepath.Join(dir, "ctl.yaml")
	os.WriteFile(ctl, []byte("name: \"a\\e[2Jb\"\nhosts: {}\n"), 0o644)
	link := filepath.Join(dir, "link.yaml")
	os.Symlink("/dev/zero", link)
	for _, c := range []struct{ file, want string }{
		{"/dev/zero", "a plan must be a regular file, not a device"},
		{link, "a plan must be a regular file, not a device"},
		{fifo, "a plan must be a regular file, not a FIFO"},
		{dir, "a plan must be a regular file, not a directory"},
		{big, "a plan is at most 1048576 (1 MiB)"},
		{longName, ":1: name: too long: 300000 bytes, at most 200"},
		{longPath, ":5: images.i.path: too long: 5001 bytes, at most 4096"},
		{ctl, ":1: name: control character '\\x1b' not allowed"},
	} {
		start := time.Now()
		_, err := Load(c.file, know)
		var pe Errors
		if err == nil || !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want %q", c.file, err, c.want)
		}
		if err != nil && len(err.Error()) > 300 {
			t.Errorf("%s: message of %d bytes", c.file, len(err.Error()))
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: took %v", c.file, d)
		}
	}
	if _, err := FromFlags(Flags{URI: "qemu:///system", Image: "testdata/img/disk.qcow2", Cmdline: strings.Repeat("c", 5000)}, know); err == nil || !strings.Contains(err.Error(), "--cmdline: too long") {
		t.Errorf("--cmdline of 5000 bytes: %v", err)
	}
}
