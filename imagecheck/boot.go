package imagecheck

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
)

// unstableRoot matches root devices named by their bus position, which
// change when the disk moves from IDE or SCSI to virtio or VMBus.
var unstableRoot = regexp.MustCompile(`^/dev/(sd|vd|hd|xvd)[a-z]+\d*$|^/dev/nvme\d+n\d+(p\d+)?$`)

// bootConfigs are the files holding kernel command lines: grub's
// configuration and Boot Loader Specification entries.
func bootConfigs(fsys fs.FS) []string {
	var out []string
	for _, g := range []string{"boot/grub/grub.cfg", "boot/grub2/grub.cfg", "boot/efi/EFI/*/grub.cfg", "boot/loader/entries/*.conf"} {
		m, _ := fs.Glob(fsys, g)
		out = append(out, m...)
	}
	return out
}

// rootArgs returns the root= values of the kernel command lines in a boot
// configuration: grub's linux/linuxefi/linux16 lines and BLS options
// lines, never grub's own `set root=` (a grub device, not the kernel's).
func rootArgs(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "linux", "linuxefi", "linux16", "options":
		default:
			continue
		}
		for _, a := range f[1:] {
			if v, ok := strings.CutPrefix(a, "root="); ok {
				out = append(out, v)
			}
		}
	}
	return out
}

func rootName(t *T) {
	cfgs := bootConfigs(t.FS)
	seen, bad := 0, 0
	for _, c := range cfgs {
		b, err := readBounded(t.FS, c, 4*maxConfig)
		if err != nil {
			t.Evidence("read /"+c, "readable", err.Error(), false)
			t.Errorf("cannot read /%s: %v", c, err)
			return
		}
		for _, r := range uniq(rootArgs(b)) {
			seen++
			ok := !unstableRoot.MatchString(r)
			if !ok {
				bad++
			}
			t.Evidence("/"+c+": root=", "UUID=, LABEL=, PARTUUID=, PARTLABEL= or a mapper/LVM name", "root="+r, ok)
		}
	}
	switch {
	case len(cfgs) == 0:
		t.Skip("no boot configuration (/boot/grub/grub.cfg, /boot/loader/entries) in the image: the kernel command line comes from outside")
	case seen == 0:
		t.Skip("no root= on any kernel command line in %s", strings.Join(cfgs, ", "))
	case bad > 0:
		t.Fail("%d of %d kernel command lines name the root by its bus position (/dev/sdX, /dev/vdX): it changes between hypervisors' disk buses", bad, seen)
	default:
		t.Pass("every root= (%d) names the root filesystem by a stable name", seen)
	}
}

func uniq(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// Windows images. No Windows image can be had on the machines this is
// built on: these checks are proven on constructed trees only (SIMULATED).

const driverStore = "Windows/System32/DriverStore/FileRepository"

// virtioDrivers are the driver packages (INF names) a Windows guest needs
// on KVM, from the virtio-win distribution: storage (either) and network.
var virtioDrivers = [][]string{{"viostor", "vioscsi"}, {"netkvm"}}

func windowsVirtio(t *T) {
	ents, err := fs.ReadDir(t.FS, driverStore)
	if err != nil {
		t.Evidence("read C:/"+driverStore, "the driver store", err.Error(), false)
		t.Fail("no driver store in the image (C:/%s): %v", driverStore, err)
		return
	}
	var missing []string
	for _, alts := range virtioDrivers {
		found := ""
		for _, e := range ents {
			n := strings.ToLower(e.Name())
			for _, a := range alts {
				if strings.HasPrefix(n, a+".inf_") {
					found = e.Name()
				}
			}
		}
		if found == "" {
			missing = append(missing, strings.Join(alts, " or "))
		}
		t.Evidence(strings.Join(alts, "/"), strings.Join(alts, " or ")+".inf_* in the driver store", orNone(found, fmt.Sprintf("not among %d driver packages", len(ents))), found != "")
	}
	if len(missing) > 0 {
		t.Fail("the driver store lacks %s (virtio-win): the guest cannot see its virtio disk or network on KVM", strings.Join(missing, ", "))
		return
	}
	t.Pass("virtio storage and network drivers in the driver store")
}

func cloudbaseInit(t *T) {
	const dir = "Program Files/Cloudbase Solutions/Cloudbase-Init"
	p := firstOf(t.FS, dir+"/conf/cloudbase-init.conf", dir+"/Python/Scripts/cloudbase-init.exe")
	t.Evidence("cloudbase-init", "C:/"+dir+" installed", orNone(p, "not found (C:/"+dir+")"), p != "")
	if p == "" {
		t.Fail("cloudbase-init is not installed: the guest will not take the NoCloud seed")
		return
	}
	t.Pass("cloudbase-init installed (/%s)", p)
}
