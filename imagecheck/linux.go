package imagecheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/virtcert/virtcert/imagecheck/initramfs"
)

// maxConfig bounds every configuration file a check reads.
const maxConfig = 1 << 20

// pvModule is a driver a guest needs on a hypervisor, with the kernel
// option that builds it in. A boot driver (bus, storage) must be in the
// initramfs or built in: without it the root disk is not found. A
// network driver may also be a module of the root filesystem, which udev
// loads after the switch to it.
type pvModule struct {
	name, config string
	boot         bool
}

var pvModules = map[string][]pvModule{
	"kvm":    {{"virtio_pci", "CONFIG_VIRTIO_PCI", true}, {"virtio_blk", "CONFIG_VIRTIO_BLK", true}, {"virtio_scsi", "CONFIG_SCSI_VIRTIO", true}, {"virtio_net", "CONFIG_VIRTIO_NET", false}},
	"hyperv": {{"hv_vmbus", "CONFIG_HYPERV", true}, {"hv_storvsc", "CONFIG_HYPERV_STORAGE", true}, {"hv_netvsc", "CONFIG_HYPERV_NET", false}},
}

// kernel is one installed kernel and its initramfs.
type kernel struct{ version, initrd string }

// kernels lists /boot's kernels, newest last (the one a Debian or Fedora
// grub boots by default).
func kernels(fsys fs.FS) []kernel {
	ents, _ := fs.ReadDir(fsys, "boot")
	var ks []kernel
	for _, e := range ents {
		v, ok := strings.CutPrefix(e.Name(), "vmlinuz-")
		if !ok || strings.Contains(v, "rescue") {
			continue
		}
		ks = append(ks, kernel{version: v, initrd: firstOf(fsys, "boot/initrd.img-"+v, "boot/initramfs-"+v+".img", "boot/initrd-"+v)})
	}
	slices.SortFunc(ks, func(a, b kernel) int { return versionCmp(a.version, b.version) })
	return ks
}

var numRun = regexp.MustCompile(`\d+|\D+`)

// versionCmp orders kernel versions, numbers numerically.
func versionCmp(a, b string) int {
	pa, pb := numRun.FindAllString(a, -1), numRun.FindAllString(b, -1)
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if pa[i] == pb[i] {
			continue
		}
		if pa[i][0] >= '0' && pa[i][0] <= '9' && pb[i][0] >= '0' && pb[i][0] <= '9' {
			x, y := strings.TrimLeft(pa[i], "0"), strings.TrimLeft(pb[i], "0")
			if len(x) != len(y) {
				return len(x) - len(y)
			}
			return strings.Compare(x, y)
		}
		return strings.Compare(pa[i], pb[i])
	}
	return len(pa) - len(pb)
}

// modName is a module's name as the kernel spells it (dashes as
// underscores), from a path such as .../virtio_blk.ko.zst.
func modName(p string) (string, bool) {
	b := path.Base(p)
	i := strings.Index(b, ".ko")
	if i < 0 || (b[i+3:] != "" && !slices.Contains([]string{".xz", ".zst", ".gz"}, b[i+3:])) {
		return "", false
	}
	return strings.ReplaceAll(b[:i], "-", "_"), true
}

func pvDrivers(t *T) {
	ks := kernels(t.FS)
	if len(ks) == 0 {
		t.Skip("no kernel in /boot (vmlinuz-*): the image is booted with an outside kernel, whose drivers are not in the image")
		return
	}
	k := ks[len(ks)-1]
	have := map[string]string{} // module -> where it was found
	if k.initrd != "" {
		a, err := readInitramfs(t.FS, k.initrd)
		if err != nil {
			t.Evidence("read /"+k.initrd, "a readable initramfs", err.Error(), false)
			t.Errorf("cannot read the initramfs /%s: %v", k.initrd, err)
			return
		}
		for _, p := range a.Paths {
			if m, ok := modName(p); ok {
				have[m] = "/" + k.initrd + ": " + p
			}
		}
		for p, b := range a.Files {
			builtins(b, "built in ("+p+" in the initramfs)", have)
		}
	}
	if b, err := readBounded(t.FS, "lib/modules/"+k.version+"/modules.builtin", 4<<20); err == nil {
		builtins(b, "built in (/lib/modules/"+k.version+"/modules.builtin)", have)
	} else if b, err := readBounded(t.FS, "usr/lib/modules/"+k.version+"/modules.builtin", 4<<20); err == nil {
		builtins(b, "built in (/usr/lib/modules/"+k.version+"/modules.builtin)", have)
	}
	judgeModules(t, k, have)
}

func judgeModules(t *T, k kernel, have map[string]string) {
	var missing []string
	cfg, _ := readBounded(t.FS, "boot/config-"+k.version, 4<<20)
	rootfs := rootfsModules(t.FS, k.version)
	for _, m := range pvModules[t.Hypervisor] {
		where, ok := have[m.name]
		if !ok && bytes.Contains(cfg, []byte("\n"+m.config+"=y\n")) {
			where, ok = "built in (/boot/config-"+k.version+": "+m.config+"=y)", true
		}
		want := m.name + " in the initramfs or built in"
		if !m.boot {
			want = m.name + " in the initramfs, the root filesystem's modules or built in"
			if p, found := rootfs[m.name]; !ok && found {
				where, ok = "module of the root filesystem: /"+p, true
			}
		}
		if !ok {
			where = "not in the initramfs (/" + k.initrd + ") nor built in"
			if k.initrd == "" {
				where = "no initramfs for this kernel, and not built in"
			}
			if !m.boot {
				where += ", nor a module of the root filesystem"
			}
			missing = append(missing, m.name)
		}
		t.Evidence("kernel "+k.version+": "+m.name, want, where, ok)
	}
	if len(missing) > 0 {
		t.Fail("kernel %s lacks %s for %s: the guest cannot find its disk or network there", k.version, strings.Join(missing, ", "), t.Hypervisor)
		return
	}
	var all []string
	for _, m := range pvModules[t.Hypervisor] {
		all = append(all, m.name)
	}
	t.Pass("kernel %s has %s", k.version, strings.Join(all, ", "))
}

// rootfsModules finds the modules of kernel version under
// /lib/modules/VERSION and /usr/lib/modules/VERSION.
func rootfsModules(fsys fs.FS, version string) map[string]string {
	out := map[string]string{}
	for _, root := range []string{"lib/modules/" + version, "usr/lib/modules/" + version} {
		fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if m, ok := modName(p); ok && !d.IsDir() {
				if _, seen := out[m]; !seen {
					out[m] = p
				}
			}
			return nil
		})
	}
	return out
}

// builtins adds the modules a modules.builtin file lists.
func builtins(b []byte, where string, have map[string]string) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if m, ok := modName(strings.TrimSpace(sc.Text())); ok {
			if _, seen := have[m]; !seen {
				have[m] = where
			}
		}
	}
}

// maxInitramfs bounds the initramfs file read (a compressed Debian one is
// 30–70 MiB).
const maxInitramfs = 512 << 20

func readInitramfs(fsys fs.FS, p string) (*initramfs.Archive, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() > maxInitramfs {
		return nil, fmt.Errorf("not a regular file of at most %d MiB", maxInitramfs>>20)
	}
	return initramfs.Read(f, initramfs.DefaultLimits, func(p string) bool { return path.Base(p) == "modules.builtin" })
}

// daemon is a Hyper-V daemon and where distributions install it.
type daemon struct {
	name     string
	paths    []string
	required bool
	why      string
}

var hvDaemons = []daemon{
	{"hv_kvp_daemon", []string{"usr/sbin/hv_kvp_daemon", "sbin/hv_kvp_daemon", "usr/sbin/hypervkvpd", "usr/libexec/hypervkvpd/hypervkvpd"}, true, "the host learns the guest's address through KVP"},
	{"hv_vss_daemon", []string{"usr/sbin/hv_vss_daemon", "sbin/hv_vss_daemon", "usr/sbin/hypervvssd"}, false, "consistent checkpoints"},
	{"hv_fcopy_daemon", []string{"usr/sbin/hv_fcopy_daemon", "sbin/hv_fcopy_daemon", "usr/sbin/hypervfcopyd", "usr/sbin/hv_fcopy_uio_daemon"}, false, "Copy-VMFile"},
}

func hypervDaemons(t *T) {
	var missing []string
	for _, d := range hvDaemons {
		p := firstOf(t.FS, d.paths...)
		actual := "found /" + p
		if p == "" {
			actual = "not found (looked in /" + strings.Join(d.paths, ", /") + ")"
			if d.required {
				missing = append(missing, d.name)
			}
		}
		want := d.name + " installed (" + d.why + ")"
		if !d.required {
			want += "; optional"
		}
		t.Evidence(d.name, want, actual, p != "" || !d.required)
	}
	if len(missing) > 0 {
		t.Fail("missing %s: on Hyper-V the host cannot learn the guest's address (Debian: install hyperv-daemons)", strings.Join(missing, ", "))
		return
	}
	t.Pass("hv_kvp_daemon installed")
}

func cloudInit(t *T) {
	bin := firstOf(t.FS, "usr/bin/cloud-init", "usr/local/bin/cloud-init")
	t.Evidence("cloud-init", "cloud-init installed", orNone(bin, "not found (/usr/bin/cloud-init)"), bin != "")
	if bin == "" {
		t.Fail("cloud-init is not installed: the guest will not take the NoCloud seed (user, SSH key)")
		return
	}
	if exists(t.FS, "etc/cloud/cloud-init.disabled") {
		t.Evidence("/etc/cloud/cloud-init.disabled", "absent", "present", false)
		t.Fail("cloud-init is disabled by /etc/cloud/cloud-init.disabled")
		return
	}
	list, from, err := datasourceList(t.FS)
	if err != nil {
		t.Evidence("datasource_list", "readable cloud-init configuration", err.Error(), false)
		if errors.Is(err, errBadYAML) {
			t.Fail("cloud-init's configuration does not parse: %v", err)
		} else { // e.g. an absolute symlink, which the tree does not follow out
			t.Errorf("cannot read cloud-init's configuration from the image: %v", err)
		}
		return
	}
	if from == "" {
		t.Evidence("datasource_list", "unset, or a list naming NoCloud", "unset (cloud-init's default list, which includes NoCloud)", true)
		t.Pass("cloud-init installed; datasource_list unset (NoCloud included by default)")
		return
	}
	ok := slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, "NoCloud") })
	t.Evidence("datasource_list", "a list naming NoCloud", fmt.Sprintf("%v (from /%s)", list, from), ok)
	if !ok {
		t.Fail("datasource_list in /%s is %v, without NoCloud: the seed will be ignored", from, list)
		return
	}
	t.Pass("cloud-init installed; NoCloud in datasource_list (/%s)", from)
}

// errBadYAML marks a cloud-init file that does not parse: the guest's
// fault, where a file that cannot be read from the image is the harness's.
var errBadYAML = errors.New("invalid YAML")

// datasourceList is the datasource_list cloud-init ends up with: the last
// file setting it wins, /etc/cloud/cloud.cfg first, then cloud.cfg.d/*.cfg
// in lexical order. from is "" when no file sets it.
func datasourceList(fsys fs.FS) (list []string, from string, err error) {
	files := []string{"etc/cloud/cloud.cfg"}
	more, _ := fs.Glob(fsys, "etc/cloud/cloud.cfg.d/*.cfg")
	slices.Sort(more)
	for _, f := range append(files, more...) {
		b, err := readBounded(fsys, f, maxConfig)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		var doc struct {
			List yaml.Node `yaml:"datasource_list"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return nil, "", fmt.Errorf("%w: /%s: %v", errBadYAML, f, err)
		}
		if doc.List.Kind == 0 {
			continue
		}
		var l []string
		if err := doc.List.Decode(&l); err != nil {
			return nil, "", fmt.Errorf("%w: /%s: datasource_list: %v", errBadYAML, f, err)
		}
		list, from = l, f
	}
	return list, from, nil
}

func orNone(p, none string) string {
	if p == "" {
		return none
	}
	return "found /" + p
}

func sshServer(t *T) {
	paths := []string{"usr/sbin/sshd", "sbin/sshd", "usr/sbin/dropbear", "sbin/dropbear"}
	p := firstOf(t.FS, paths...)
	t.Evidence("SSH server", "sshd or dropbear installed", orNone(p, "not found (looked in /"+strings.Join(paths, ", /")+")"), p != "")
	if p == "" {
		t.Fail("no SSH server in the image: virtcert reaches Linux guests over SSH")
		return
	}
	t.Pass("SSH server /%s", p)
}
