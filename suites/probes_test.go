package suites_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/suitetest"
)

func TestShellReaders(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("one", "virtio_blk\n")
	write("bare", "no newline")
	write("two", "first line\nsecond\n")
	write("pad", "QEMU    \n")
	if err := os.Mkdir(filepath.Join(dir, "drivers"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "drivers", "virtio_net"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("drivers/virtio_net", filepath.Join(dir, "driver")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("drivers/gone", filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	script := suites.ShellReaders + `for f in one bare two pad missing; do vc_v=stale; vc_get $f; echo "$f=[$vc_v]"; done; ` +
		`for l in driver dangling missing; do vc_v=stale; vc_link $l; echo "$l=[$vc_v]"; done; echo "pwd=$PWD"`
	want := "one=[virtio_blk]\nbare=[no newline]\ntwo=[first line]\npad=[QEMU    ]\nmissing=[]\n" +
		"driver=[" + real + "/drivers/virtio_net]\ndangling=[]\nmissing=[]\npwd=" + dir + "\n"
	for _, sh := range suitetest.Shells(t) {
		if got := suitetest.RunShell(t, sh, dir, script); got != want {
			t.Errorf("%s:\n got %q\nwant %q", sh[0], got, want)
		}
	}
}

// The scripts these probes replaced (a process per value), kept as the
// oracles of what they must print.
const (
	oldPVDevices = `: vc=pvdevices; for d in /sys/bus/virtio/devices/* /sys/bus/vmbus/devices/*; do ` +
		`[ -e "$d" ] || continue; echo "@@@ $d"; ` +
		`for f in device vendor class_id; do [ -r "$d/$f" ] && echo "$f=$(cat "$d/$f")"; done; ` +
		`echo "driver=$(readlink "$d/driver" 2>/dev/null)"; done; true`
	oldDMI = `echo "sys_vendor=$(cat /sys/class/dmi/id/sys_vendor)"; echo "product_name=$(cat /sys/class/dmi/id/product_name)"`
)

func TestPVDevicesProbeMatchesOldScript(t *testing.T) {
	if m, _ := filepath.Glob("/sys/bus/virtio/devices/*"); len(m) == 0 {
		if m, _ = filepath.Glob("/sys/bus/vmbus/devices/*"); len(m) == 0 {
			t.Skip("no virtio or VMBus devices on this machine: nothing to list")
		}
	}
	suitetest.SameAsOracle(t, suites.ProbePVDevices, oldPVDevices)
}

func TestDMIProbeMatchesOldScript(t *testing.T) {
	suitetest.SameAsOracle(t, suites.ProbeDMI, oldDMI)
}

// The probes that use ShellReaders run as they are in every shell: no
// syntax error, no stray error output where the host has the files.
func TestShellReaderProbesRun(t *testing.T) {
	for _, sh := range suitetest.Shells(t) {
		for name, p := range map[string]string{"pvdevices": suites.ProbePVDevices, "platform": suites.ProbePlatform, "clock": suites.ProbeClock} {
			out := suitetest.RunShell(t, sh, t.TempDir(), p)
			if strings.Contains(out, "syntax error") || strings.Contains(out, "not found") && strings.Contains(out, "vc_") {
				t.Errorf("%s %s:\n%s", sh[0], name, out)
			}
		}
	}
}
