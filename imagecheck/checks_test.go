package imagecheck

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/cavaliergopher/cpio"
	"github.com/klauspost/compress/zstd"

	"github.com/virtcert/virtcert/reports"
)

const kver = "6.1.0-28-amd64"

// initrd builds a zstd-compressed initramfs holding the named modules.
func initrd(t *testing.T, mods ...string) []byte {
	t.Helper()
	var c bytes.Buffer
	w := cpio.NewWriter(&c)
	for _, m := range append([]string{"init"}, mods...) {
		name := m
		if m != "init" {
			name = "usr/lib/modules/" + kver + "/kernel/drivers/" + m + ".ko"
		}
		w.WriteHeader(&cpio.Header{Name: name, Mode: 0o644, Size: 3})
		io.WriteString(w, "elf")
	}
	w.Close()
	var z bytes.Buffer
	zw, _ := zstd.NewWriter(&z)
	zw.Write(c.Bytes())
	zw.Close()
	return z.Bytes()
}

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s), Mode: 0o644} }

// debian is a tree like the Debian fixture image's.
func debian(t *testing.T) fstest.MapFS {
	return fstest.MapFS{
		"etc/os-release":                    file("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n"),
		"boot/vmlinuz-" + kver:              file("kernel"),
		"boot/config-" + kver:               file("# config\nCONFIG_HYPERV=m\nCONFIG_VIRTIO_PCI=m\n"),
		"boot/initrd.img-" + kver:           {Data: initrd(t, "virtio/virtio_pci", "block/virtio_blk", "scsi/virtio_scsi", "net/virtio_net", "hv/hv_vmbus", "scsi/hv_storvsc", "net/hyperv/hv_netvsc"), Mode: 0o644},
		"boot/grub/grub.cfg":                file("set root='hd0,msdos1'\nmenuentry 'Debian' {\n\tlinux /boot/vmlinuz-" + kver + " root=UUID=1234-abcd ro console=ttyS0\n}\n"),
		"usr/sbin/hv_kvp_daemon":            file("elf"),
		"usr/sbin/hv_vss_daemon":            file("elf"),
		"usr/bin/cloud-init":                file("#!/usr/bin/python3"),
		"etc/cloud/cloud.cfg":               file("datasource_list: [NoCloud, ConfigDrive, None]\n"),
		"etc/cloud/cloud.cfg.d/90_dpkg.cfg": file("# to update this file, run dpkg-reconfigure cloud-init\ndatasource_list: [ NoCloud, OpenStack, None ]\n"),
		"usr/sbin/sshd":                     file("elf"),
	}
}

func byID(rs []*reports.Result) map[string]*reports.Result {
	m := map[string]*reports.Result{}
	for _, r := range rs {
		m[r.Check] = r
	}
	return m
}

// evidence joins a result's evidence lines, for matching.
func evidence(r *reports.Result) string {
	var b strings.Builder
	for _, e := range r.Evidence {
		b.WriteString(e.Step + " | " + e.Expected + " | " + e.Actual + "\n")
	}
	return b.String()
}

func TestChecks(t *testing.T) {
	type want struct {
		status reports.Status
		text   string // in the reason or the evidence
	}
	cases := []struct {
		name  string
		hv    string
		edit  func(fstest.MapFS)
		check string
		want  want
	}{
		{"pv kvm", "kvm", nil, "image.pv-drivers", want{reports.Pass, "virtio_blk"}},
		{"pv hyperv", "hyperv", nil, "image.pv-drivers", want{reports.Pass, "hv_storvsc"}},
		{"pv no virtio", "kvm", func(m fstest.MapFS) { m["boot/initrd.img-"+kver].Data = initrd(t, "hv/hv_vmbus", "block/virtio_blk") }, "image.pv-drivers", want{reports.Fail, "lacks virtio_pci, virtio_scsi, virtio_net"}},
		{"pv builtin by config", "kvm", func(m fstest.MapFS) {
			m["boot/initrd.img-"+kver].Data = initrd(t, "block/virtio_blk", "scsi/virtio_scsi", "net/virtio_net")
			m["boot/config-"+kver] = file("#\nCONFIG_VIRTIO_PCI=y\n")
		}, "image.pv-drivers", want{reports.Pass, "CONFIG_VIRTIO_PCI=y"}},
		{"pv builtin by modules.builtin", "kvm", func(m fstest.MapFS) {
			m["boot/initrd.img-"+kver].Data = initrd(t, "block/virtio_blk", "scsi/virtio_scsi", "net/virtio_net")
			m["lib/modules/"+kver+"/modules.builtin"] = file("kernel/drivers/virtio/virtio_pci.ko\n")
		}, "image.pv-drivers", want{reports.Pass, "modules.builtin"}},
		{"pv newest kernel judged", "kvm", func(m fstest.MapFS) {
			m["boot/vmlinuz-6.1.0-9-amd64"] = file("old")
			m["boot/initrd.img-6.1.0-9-amd64"] = &fstest.MapFile{Data: initrd(t)}
		}, "image.pv-drivers", want{reports.Pass, "kernel " + kver}},
		{"pv network driver in the root filesystem", "hyperv", func(m fstest.MapFS) {
			m["boot/initrd.img-"+kver].Data = initrd(t, "hv/hv_vmbus", "scsi/hv_storvsc")
			m["lib/modules/"+kver+"/kernel/drivers/net/hyperv/hv_netvsc.ko.xz"] = file("")
		}, "image.pv-drivers", want{reports.Pass, "module of the root filesystem: /lib/modules/" + kver + "/kernel/drivers/net/hyperv/hv_netvsc.ko.xz"}},
		{"pv storage driver in the root filesystem is not enough", "hyperv", func(m fstest.MapFS) {
			m["boot/initrd.img-"+kver].Data = initrd(t, "hv/hv_vmbus", "net/hyperv/hv_netvsc")
			m["lib/modules/"+kver+"/kernel/drivers/scsi/hv_storvsc.ko"] = file("")
		}, "image.pv-drivers", want{reports.Fail, "lacks hv_storvsc"}},
		{"pv no initramfs", "kvm", func(m fstest.MapFS) { delete(m, "boot/initrd.img-"+kver) }, "image.pv-drivers", want{reports.Fail, "no initramfs for this kernel"}},
		{"pv unreadable initramfs", "kvm", func(m fstest.MapFS) { m["boot/initrd.img-"+kver] = file("\x02\x21\x4c\x18lz4") }, "image.pv-drivers", want{reports.Error, "unknown compression"}},
		{"pv no kernel", "kvm", func(m fstest.MapFS) { delete(m, "boot/vmlinuz-"+kver) }, "image.pv-drivers", want{reports.Skip, "no kernel in /boot"}},
		{"daemons", "hyperv", nil, "image.hyperv-daemons", want{reports.Pass, "found /usr/sbin/hv_kvp_daemon"}},
		{"daemons RHEL names", "hyperv", func(m fstest.MapFS) {
			delete(m, "usr/sbin/hv_kvp_daemon")
			m["usr/sbin/hypervkvpd"] = file("elf")
		}, "image.hyperv-daemons", want{reports.Pass, "found /usr/sbin/hypervkvpd"}},
		{"daemons missing", "hyperv", func(m fstest.MapFS) { delete(m, "usr/sbin/hv_kvp_daemon") }, "image.hyperv-daemons", want{reports.Fail, "missing hv_kvp_daemon"}},
		{"daemons on kvm", "kvm", func(m fstest.MapFS) { delete(m, "usr/sbin/hv_kvp_daemon") }, "image.hyperv-daemons", want{reports.NA, "hyperv only"}},
		{"cloud-init", "kvm", nil, "image.cloud-init-nocloud", want{reports.Pass, "90_dpkg.cfg"}},
		{"cloud-init default list", "kvm", func(m fstest.MapFS) {
			m["etc/cloud/cloud.cfg"] = file("users: [default]\n")
			delete(m, "etc/cloud/cloud.cfg.d/90_dpkg.cfg")
		}, "image.cloud-init-nocloud", want{reports.Pass, "unset"}},
		{"cloud-init no NoCloud", "kvm", func(m fstest.MapFS) { m["etc/cloud/cloud.cfg.d/99_ec2.cfg"] = file("datasource_list: [Ec2, None]\n") }, "image.cloud-init-nocloud", want{reports.Fail, "99_ec2.cfg"}},
		{"cloud-init missing", "kvm", func(m fstest.MapFS) { delete(m, "usr/bin/cloud-init") }, "image.cloud-init-nocloud", want{reports.Fail, "not installed"}},
		{"cloud-init disabled", "kvm", func(m fstest.MapFS) { m["etc/cloud/cloud-init.disabled"] = file("") }, "image.cloud-init-nocloud", want{reports.Fail, "disabled"}},
		{"cloud-init bad yaml", "kvm", func(m fstest.MapFS) { m["etc/cloud/cloud.cfg.d/50.cfg"] = file("datasource_list: [x\n") }, "image.cloud-init-nocloud", want{reports.Fail, "50.cfg"}},
		{"ssh", "kvm", nil, "image.ssh-server", want{reports.Pass, "/usr/sbin/sshd"}},
		{"ssh dropbear", "kvm", func(m fstest.MapFS) { delete(m, "usr/sbin/sshd"); m["usr/sbin/dropbear"] = file("") }, "image.ssh-server", want{reports.Pass, "dropbear"}},
		{"ssh missing", "kvm", func(m fstest.MapFS) { delete(m, "usr/sbin/sshd") }, "image.ssh-server", want{reports.Fail, "no SSH server"}},
		{"root uuid, set root ignored", "kvm", nil, "image.root-stable-name", want{reports.Pass, "root=UUID=1234-abcd"}},
		{"root sda", "kvm", func(m fstest.MapFS) {
			m["boot/grub/grub.cfg"] = file("set root=(hd0,1)\n  linux /vmlinuz root=/dev/sda1 ro\n")
		}, "image.root-stable-name", want{reports.Fail, "root=/dev/sda1"}},
		{"root vda BLS", "kvm", func(m fstest.MapFS) {
			delete(m, "boot/grub/grub.cfg")
			m["boot/loader/entries/a.conf"] = file("title Fedora\noptions root=/dev/vda2 ro\n")
		}, "image.root-stable-name", want{reports.Fail, "root=/dev/vda2"}},
		{"root LVM", "kvm", func(m fstest.MapFS) {
			m["boot/grub/grub.cfg"] = file("linux16 /vmlinuz root=/dev/mapper/rhel-root ro\n")
		}, "image.root-stable-name", want{reports.Pass, "mapper"}},
		{"root no config", "kvm", func(m fstest.MapFS) { delete(m, "boot/grub/grub.cfg") }, "image.root-stable-name", want{reports.Skip, "no boot configuration"}},
		{"windows checks n/a", "kvm", nil, "image.windows-virtio-drivers", want{reports.NA, "windows only"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := debian(t)
			if c.edit != nil {
				c.edit(m)
			}
			if os, d := DetectOS(m), Distro(m, "linux"); os != "linux" || d != "Debian GNU/Linux 12 (bookworm)" {
				t.Fatalf("DetectOS = %q, Distro = %q", os, d)
			}
			r := byID(Run(m, c.hv, "linux"))[c.check]
			text := r.Reason + "\n" + evidence(r)
			if r.Status != c.want.status || !strings.Contains(text, c.want.text) {
				t.Fatalf("%s = %s, want %s with %q:\n%s", c.check, r.Status, c.want.status, c.want.text, text)
			}
		})
	}
}

// Windows images cannot be had here: these trees stand in for one
// (SIMULATED; see README "Image preflight").
func TestWindowsChecks(t *testing.T) {
	const store = "Windows/System32/DriverStore/FileRepository/"
	const cbi = "Program Files/Cloudbase Solutions/Cloudbase-Init/conf/cloudbase-init.conf"
	full := func() fstest.MapFS {
		return fstest.MapFS{
			"Windows/System32/ntoskrnl.exe":                    file(""),
			store + "viostor.inf_amd64_5d8d1c2a8e5c6f1e/x.inf": file(""),
			store + "netkvm.inf_amd64_0a1b2c3d4e5f6789/x.inf":  file(""),
			store + "machine.inf_amd64_b2c3/x.inf":             file(""),
			cbi:                                                file("[DEFAULT]\n"),
		}
	}
	cases := []struct {
		name, hv, check string
		edit            func(fstest.MapFS)
		status          reports.Status
		text            string
	}{
		{"virtio", "kvm", "image.windows-virtio-drivers", nil, reports.Pass, "viostor.inf_amd64"},
		{"vioscsi instead", "kvm", "image.windows-virtio-drivers", func(m fstest.MapFS) {
			delete(m, store+"viostor.inf_amd64_5d8d1c2a8e5c6f1e/x.inf")
			m[store+"VIOSCSI.INF_amd64_1/x.inf"] = file("")
		}, reports.Pass, "VIOSCSI"},
		{"no netkvm", "kvm", "image.windows-virtio-drivers", func(m fstest.MapFS) { delete(m, store+"netkvm.inf_amd64_0a1b2c3d4e5f6789/x.inf") }, reports.Fail, "lacks netkvm"},
		{"virtio on hyperv", "hyperv", "image.windows-virtio-drivers", nil, reports.NA, "kvm only"},
		{"cloudbase-init", "hyperv", "image.cloudbase-init", nil, reports.Pass, "cloudbase-init.conf"},
		{"no cloudbase-init", "kvm", "image.cloudbase-init", func(m fstest.MapFS) { delete(m, cbi) }, reports.Fail, "not installed"},
		{"linux checks n/a", "kvm", "image.ssh-server", nil, reports.NA, "linux only"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := full()
			if c.edit != nil {
				c.edit(m)
			}
			if os := DetectOS(m); os != "windows" {
				t.Fatalf("DetectOS = %q", os)
			}
			r := byID(Run(m, c.hv, "windows"))[c.check]
			text := r.Reason + "\n" + evidence(r)
			if r.Status != c.status || !strings.Contains(text, c.text) {
				t.Fatalf("%s = %s, want %s with %q:\n%s", c.check, r.Status, c.status, c.text, text)
			}
		})
	}
}

func TestVersionCmp(t *testing.T) {
	for _, c := range [][2]string{{"6.1.0-9-amd64", "6.1.0-28-amd64"}, {"5.10.0-1", "6.1.0-1"}, {"6.1.0-28-amd64", "6.1.0-28-amd64+1"}} {
		if versionCmp(c[0], c[1]) >= 0 || versionCmp(c[1], c[0]) <= 0 {
			t.Errorf("%s should sort before %s", c[0], c[1])
		}
	}
}

// A symlink in what was copied out of the image never leads outside it:
// a cloud.cfg.d entry aimed at a file of the machine running virtcert
// is not read (cloud-init's configuration is then unreadable: ERROR, the
// harness could not judge it, never a FAIL of the guest), and
// a placeholder is never written through one.
func TestTreeStaysInside(t *testing.T) {
	host := filepath.Join(t.TempDir(), "host-secret.cfg")
	os.WriteFile(host, []byte("datasource_list: [TOKEN-abc123]\n"), 0o600)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc/cloud/cloud.cfg.d"), 0o755)
	os.MkdirAll(filepath.Join(dir, "usr/bin"), 0o755)
	os.WriteFile(filepath.Join(dir, "usr/bin/cloud-init"), nil, 0o644)
	os.Symlink(host, filepath.Join(dir, "etc/cloud/cloud.cfg.d/99.cfg"))
	outside := t.TempDir()
	os.Symlink(outside, filepath.Join(dir, "usr/sbin"))
	if err := placeholders("==exists /usr/sbin/sshd\ntrue\n", dir); err == nil {
		t.Error("a placeholder was written through a symlink leading out")
	}
	if ents, _ := os.ReadDir(outside); len(ents) > 0 {
		t.Fatalf("wrote outside the tree: %v", ents)
	}
	tree, c, err := Tree(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := byID(Run(tree, "kvm", "linux"))["image.cloud-init-nocloud"]
	if text := r.Reason + evidence(r); r.Status != reports.Error || strings.Contains(text, "TOKEN") {
		t.Fatalf("%s: %s", r.Status, text)
	}
}
