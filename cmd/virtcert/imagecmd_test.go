package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/imagecheck"
	"github.com/virtcert/virtcert/reports"
)

// rawDisk writes a file that looks like a raw disk (an MBR signature).
func rawDisk(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4096)
	b[510], b[511] = 0x55, 0xaa
	p := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeGuestfish stands in for libguestfs: it prints the given answers
// (the markers of the batch script and guestfish's replies), stderr and
// exit code.
func fakeGuestfish(t *testing.T, stdout, stderr string, code int) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "guestfish")
	sh := "#!/bin/sh\ncat >/dev/null\nprintf '%s' '" + stdout + "'\nprintf '%s' '" + stderr + "' >&2\nexit " + string(rune('0'+code)) + "\n"
	if err := os.WriteFile(p, []byte(sh), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VIRTCERT_GUESTFISH", p)
}

func TestImageCheckBadInput(t *testing.T) {
	img := rawDisk(t)
	dir := t.TempDir()
	link := filepath.Join(dir, "link.img")
	os.Symlink(img, link)
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("hello"), 0o644)
	backed := filepath.Join(dir, "overlay.qcow2")
	os.WriteFile(backed, []byte("QFI\xfb\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x01\x00"), 0o644)
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)
	fakeGuestfish(t, "", "", 1) // never reached
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"image", "check", filepath.Join(dir, "missing.qcow2")}, "no such file"},
		{[]string{"image", "check", link}, "is a symlink"},
		{[]string{"image", "check", text}, "is not a disk image"},
		{[]string{"image", "check", dir}, "not a regular file"},
		{[]string{"image", "check", backed}, "backing file"},
		{[]string{"image", "check", img, "--hypervisor", "xen"}, `--hypervisor "xen": want kvm or hyperv`},
		{[]string{"image", "check", img, "--accel", "hvf"}, "--accel"},
		{[]string{"image", "check", img, "--out", full}, "not empty"},
		{[]string{"image", "check"}, "accepts 1 arg"},
	} {
		code, _, err := exec(t, c.args...)
		if code != ExitInput || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: code %d err %v; want 2 %q", c.args, code, err, c.want)
		}
	}
}

func TestImageCheckNoOSLeavesNothing(t *testing.T) {
	out := filepath.Join(t.TempDir(), "reports")
	fakeGuestfish(t, "", "guestfish: no operating system was found on this disk", 1)
	code, _, err := exec(t, "image", "check", rawDisk(t), "--out", out)
	if code != ExitInput || err == nil || !strings.Contains(err.Error(), "found no operating system") {
		t.Fatalf("code %d err %v", code, err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--out %s left behind: %v", out, err)
	}
}

func TestImageCheckBrokenLibguestfs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "reports")
	fakeGuestfish(t, "", "libguestfs: error: could not create appliance through libvirt", 1)
	code, _, err := exec(t, "image", "check", rawDisk(t), "--out", out)
	if code != ExitHarness || err == nil || !strings.Contains(err.Error(), "could not create appliance") {
		t.Fatalf("code %d err %v", code, err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--out %s left behind: %v", out, err)
	}
}

// A session that died part-way (markers, no end marker) is a harness
// error, not verdicts on files it never read; nothing is left behind.
func TestImageCheckCutShortGuestfish(t *testing.T) {
	out := filepath.Join(t.TempDir(), "reports")
	fakeGuestfish(t, "==exists /etc/os-release\ntrue\n==exists /usr/sbin/sshd\ntrue\n", "libguestfs: error: appliance closed the connection unexpectedly", 1)
	code, stdout, err := exec(t, "image", "check", rawDisk(t), "--out", out)
	if code != ExitHarness || err == nil || !strings.Contains(err.Error(), "stopped before reading everything") || !strings.Contains(err.Error(), "appliance closed") {
		t.Fatalf("code %d err %v\n%s", code, err, stdout)
	}
	if strings.Contains(stdout, "PASS") || strings.Contains(stdout, "FAIL") {
		t.Errorf("verdicts from a cut-short read:\n%s", stdout)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--out %s left behind: %v", out, err)
	}
}

// A Linux image with sshd and the KVP daemon but no cloud-init and no
// kernel: exit 1 (a FAIL), the three reports written, SKIP with reasons.
func TestImageCheckReports(t *testing.T) {
	out := filepath.Join(t.TempDir(), "reports")
	fakeGuestfish(t, "==exists /etc/os-release\ntrue\n==exists /usr/bin/cloud-init\nfalse\n==exists /usr/sbin/sshd\ntrue\n==exists /usr/sbin/hv_kvp_daemon\ntrue\n==ls /boot\n\n==end\n", "", 0)
	code, stdout, err := exec(t, "image", "check", rawDisk(t), "--hypervisor", "hyperv", "--out", out)
	if code != ExitFailed || err == nil {
		t.Fatalf("code %d err %v\n%s", code, err, stdout)
	}
	for _, want := range []string{"FAIL   image.cloud-init-nocloud", "PASS   image.ssh-server", "PASS   image.hyperv-daemons", "SKIP   image.pv-drivers", "no kernel in /boot", "N/A    image.cloudbase-init"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	for _, f := range []string{ResultsFile, JUnitFile, HTMLFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(out, ResultsFile))
	for _, want := range []string{`"profile": "hyperv"`, `"step": "read the image offline"`, `"expected": "cloud-init installed"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("results.json lacks %s", want)
		}
	}
}

func TestImageCheckExitCodes(t *testing.T) {
	for _, c := range []struct {
		statuses []reports.Status
		code     int
	}{
		{[]reports.Status{reports.Pass, reports.Skip, reports.NA}, ExitCertified},
		{[]reports.Status{reports.Pass, reports.Error}, ExitHarness},
		{[]reports.Status{reports.Fail, reports.Error}, ExitFailed},
		{[]reports.Status{reports.Skip, reports.NA}, ExitHarness},
	} {
		var rs []*reports.Result
		for i, s := range c.statuses {
			rs = append(rs, &reports.Result{Check: fmt.Sprintf("image.c%d", i), Status: s, Reason: "r"})
		}
		run := imageRun("vc-20261204-100000-abcdef", imagecheck.Image{Path: "d.qcow2", Format: "qcow2"}, "kvm", "linux", "guestfish", rs, time.Now())
		var b bytes.Buffer
		err := writeImageReports(&b, filepath.Join(t.TempDir(), "out"), run)
		code := 0
		if err != nil {
			code = codeFor(err)
		}
		if code != c.code {
			t.Errorf("%v: exit %d, want %d (%v)", c.statuses, code, c.code, err)
		}
	}
}
