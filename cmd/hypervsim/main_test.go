package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureDir is where fixtures/guests/NAME/build caches its guest.
func fixtureDir(t *testing.T, name string) string {
	t.Helper()
	c := os.Getenv("VIRTCERT_CACHE")
	if c == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Skipf("no fixture cache: %v", err)
		}
		c = filepath.Join(home, ".cache", "virtcert")
	}
	d := filepath.Join(c, "guests", name)
	if _, err := os.Stat(filepath.Join(d, "disk.qcow2")); err != nil {
		t.Skipf("the %s fixture guest is not built (make %s): %v", name, name, err)
	}
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img not installed (fixtures/deps.sh): parent images are probed with it")
	}
	return d
}

const win = `C:\images\parent.vhdx`

// TestImageFlagDebianParent: the Debian fixture's cache directory, and its
// disk named directly, are parents that boot from their own disk (no
// vmlinuz beside it: the error this once gave was "kernel .../debian/vmlinuz:
// no such file or directory"), and that disk starts with a boot sector.
func TestImageFlagDebianParent(t *testing.T) {
	d := fixtureDir(t, "debian")
	disk := filepath.Join(d, "disk.qcow2")
	for _, local := range []string{d, disk} {
		f := imageFlags{}
		if err := f.Set(win + "=" + local); err != nil {
			t.Fatalf("--image %s=%s: %v", win, local, err)
		}
		img := f.images()[win]
		if img.Path != disk || img.Format != "qcow2" || img.Kernel != "" || img.Initrd != "" || img.Firmware != "bios" {
			t.Errorf("--image %s=%s: lab image %+v, want %s (qcow2) booted from its disk", win, local, img, disk)
		}
	}
	// The first sector, read through qemu-img (the image is qcow2).
	out := filepath.Join(t.TempDir(), "mbr")
	if b, err := exec.Command("qemu-img", "dd", "-f", "qcow2", "-O", "raw", "bs=512", "count=1", "if="+disk, "of="+out).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img dd: %v\n%s", err, b)
	}
	mbr, err := os.ReadFile(out)
	if err != nil || len(mbr) < 512 || !bytes.Equal(mbr[510:512], []byte{0x55, 0xAA}) {
		t.Errorf("%s: no boot sector (err %v, %d bytes): it cannot boot from its own disk", disk, err, len(mbr))
	}
}

// TestImageFlagTinyDir: the tiny fixture's directory is still a direct
// kernel boot parent.
func TestImageFlagTinyDir(t *testing.T) {
	d := fixtureDir(t, "tiny")
	f := imageFlags{}
	if err := f.Set(win + "=" + d); err != nil {
		t.Fatal(err)
	}
	img := f.images()[win]
	cmdline, _ := os.ReadFile(filepath.Join(d, "cmdline"))
	if img.Path != filepath.Join(d, "disk.qcow2") || img.Kernel != filepath.Join(d, "vmlinuz") || img.Initrd != filepath.Join(d, "initrd.img") ||
		img.Cmdline != strings.TrimSpace(string(cmdline)) || img.Format != "qcow2" {
		t.Errorf("lab image %+v", img)
	}
}

// TestImageFlagDiskDir: a directory holding only a disk image (and other
// files), no kernel: booted from the disk, its format read by qemu-img.
func TestImageFlagDiskDir(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img not installed (fixtures/deps.sh): parent images are probed with it")
	}
	d := t.TempDir()
	if b, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", filepath.Join(d, "disk.qcow2"), "8M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v\n%s", err, b)
	}
	os.WriteFile(filepath.Join(d, "stamp"), []byte("x\n"), 0o644)
	f := imageFlags{}
	if err := f.Set(win + "=" + d); err != nil {
		t.Fatal(err)
	}
	if img := f.images()[win]; img.Path != filepath.Join(d, "disk.qcow2") || img.Format != "qcow2" || img.Kernel != "" {
		t.Errorf("lab image %+v", img)
	}
}

func TestImageFlagErrors(t *testing.T) {
	d := t.TempDir()
	for _, tc := range []struct{ arg, want string }{
		{`C:\images\x.vhdx`, "want WINPATH=LOCALPATH"},
		{`=` + d, "want WINPATH=LOCALPATH"},
		{win + "=" + filepath.Join(d, "missing"), "parent image " + filepath.Join(d, "missing") + ": no such file or directory"},
		{win + "=" + d, "parent image " + d + ": the directory holds no disk image"},
	} {
		err := imageFlags{}.Set(tc.arg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--image %s: %v, want %q", tc.arg, err, tc.want)
		}
	}
}
