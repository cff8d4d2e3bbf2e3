// Package imagecheck is the offline preflight of a guest image (virtcert
// image check): it judges a read-only copy of the files that matter (the
// guest's /boot, its cloud-init and SSH configuration, the Hyper-V
// daemons, a Windows driver store), taken out of the image by libguestfs
// (Extract), before hours are spent on a host. Each check reads an fs.FS
// rooted at the guest's "/", so the checks are tested on constructed trees.
package imagecheck

import (
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/virtcert/virtcert/reports"
)

// Hypervisors the checks know how to judge an image for.
var Hypervisors = []string{"kvm", "hyperv"}

// Check is one image check.
type Check struct {
	ID       string
	Title    string
	Priority int
	OS       string   // "linux" or "windows"
	Only     []string // hypervisors it applies to; empty: all
	Run      func(t *T)
}

// Catalog lists the checks in run order.
var Catalog = []Check{
	{ID: "image.pv-drivers", Title: "paravirtual storage and network drivers in the initramfs or the kernel", Priority: 1, OS: "linux", Run: pvDrivers},
	{ID: "image.hyperv-daemons", Title: "Hyper-V KVP daemon (the guest's address on Hyper-V)", Priority: 1, OS: "linux", Only: []string{"hyperv"}, Run: hypervDaemons},
	{ID: "image.cloud-init-nocloud", Title: "cloud-init with the NoCloud datasource", Priority: 1, OS: "linux", Run: cloudInit},
	{ID: "image.ssh-server", Title: "an SSH server", Priority: 1, OS: "linux", Run: sshServer},
	{ID: "image.root-stable-name", Title: "root filesystem named by UUID or label on the kernel command line", Priority: 2, OS: "linux", Run: rootName},
	{ID: "image.windows-virtio-drivers", Title: "virtio storage and network drivers in the Windows driver store", Priority: 1, OS: "windows", Only: []string{"kvm"}, Run: windowsVirtio},
	{ID: "image.cloudbase-init", Title: "cloudbase-init installed", Priority: 1, OS: "windows", Run: cloudbaseInit},
}

// T is one check's run: the tree, the target hypervisor and the result
// being built.
type T struct {
	FS         fs.FS
	Hypervisor string
	res        *reports.Result
}

// Evidence records one observation.
func (t *T) Evidence(step, expected, actual string, ok bool) {
	t.res.Evidence = append(t.res.Evidence, reports.Evidence{Step: step, Expected: expected, Actual: actual, Profile: t.Hypervisor, OK: &ok})
}

// Pass, Fail, Skip and Errorf end the check with a status and its reason.
func (t *T) Pass(f string, a ...any)   { t.end(reports.Pass, f, a...) }
func (t *T) Fail(f string, a ...any)   { t.end(reports.Fail, f, a...) }
func (t *T) Skip(f string, a ...any)   { t.end(reports.Skip, f, a...) }
func (t *T) Errorf(f string, a ...any) { t.end(reports.Error, f, a...) }

func (t *T) end(s reports.Status, f string, a ...any) {
	if t.res.Status == "" {
		t.res.Status, t.res.Reason = s, fmt.Sprintf(f, a...)
	}
}

// DetectOS says whether the tree holds Windows or Linux ("" for neither).
func DetectOS(fsys fs.FS) string {
	if isDir(fsys, "Windows/System32") {
		return "windows"
	}
	for _, p := range []string{"etc/os-release", "usr/lib/os-release", "bin/sh", "usr/bin/sh"} {
		if exists(fsys, p) {
			return "linux"
		}
	}
	return ""
}

// Distro names the system in the tree: os-release's PRETTY_NAME, else
// the OS DetectOS found.
func Distro(fsys fs.FS, os string) string {
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		b, err := readBounded(fsys, p, 64<<10)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok && strings.Trim(v, `"' `) != "" {
				return strings.Trim(v, `"' `)
			}
		}
	}
	return os
}

// Run runs every check of the catalog on fsys for hypervisor (one of
// Hypervisors) and guest os; checks for another OS or hypervisor are N/A.
func Run(fsys fs.FS, hypervisor, os string) []*reports.Result {
	var out []*reports.Result
	for _, c := range Catalog {
		res := &reports.Result{Check: c.ID, Area: "image", Priority: c.Priority, Title: c.Title, Started: time.Now()}
		switch {
		case c.OS != os:
			res.Status, res.Reason = reports.NA, fmt.Sprintf("not for %s images (%s only)", os, c.OS)
		case len(c.Only) > 0 && !slices.Contains(c.Only, hypervisor):
			res.Status, res.Reason = reports.NA, fmt.Sprintf("not for %s images (%s only)", hypervisor, strings.Join(c.Only, ", "))
		default:
			t := &T{FS: fsys, Hypervisor: hypervisor, res: res}
			c.Run(t)
			if res.Status == "" {
				res.Status, res.Reason = reports.Error, "check ended without a verdict"
			}
		}
		res.Duration = time.Since(res.Started)
		out = append(out, res)
	}
	return out
}

func exists(fsys fs.FS, p string) bool {
	_, err := fs.Stat(fsys, p)
	return err == nil
}

func isDir(fsys fs.FS, p string) bool {
	fi, err := fs.Stat(fsys, p)
	return err == nil && fi.IsDir()
}

// firstOf returns the first of paths that exists in fsys ("" for none).
func firstOf(fsys fs.FS, paths ...string) string {
	for _, p := range paths {
		if exists(fsys, p) {
			return p
		}
	}
	return ""
}

// readBounded reads a small configuration file (at most max bytes).
func readBounded(fsys fs.FS, p string, max int64) ([]byte, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > max {
		return nil, fmt.Errorf("%s: not a regular file of at most %d bytes", p, max)
	}
	return io.ReadAll(io.LimitReader(f, max))
}
