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

// A read that cannot be judged leaves no verdict and nothing behind: no
// operating system (exit 2), libguestfs that never started, or a session
// that died part-way (markers, no end marker; exit 3, not verdicts on
// files it never read).
func TestImageCheckUnjudgedReadLeavesNothing(t *testing.T) {
	for _, c := range []struct {
		name, stdout, stderr string
		code                 int
		want                 []string
	}{
		{"no OS", "", "guestfish: no operating system was found on this disk", ExitInput, []string{"found no operating system"}},
		{"broken libguestfs", "", "libguestfs: error: could not create appliance through libvirt", ExitHarness, []string{"could not create appliance"}},
		{"cut short", "==exists /etc/os-release\ntrue\n==exists /usr/sbin/sshd\ntrue\n", "libguestfs: error: appliance closed the connection unexpectedly", ExitHarness, []string{"stopped before reading everything", "appliance closed"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "reports")
			fakeGuestfish(t, c.stdout, c.stderr, 1)
			code, stdout, err := exec(t, "image", "check", rawDisk(t), "--out", out)
			if code != c.code || err == nil {
				t.Fatalf("code %d err %v\n%s", code, err, stdout)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(stdout, "PASS") || strings.Contains(stdout, "FAIL") {
				t.Errorf("verdicts from an unjudged read:\n%s", stdout)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("--out %s left behind: %v", out, err)
			}
		})
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
