package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/reports"
)

// imagecheckDir is where fixtures/guests/imagecheck/build writes the
// faulty copies of the Debian image.
func imagecheckDir() string { return filepath.Join(filepath.Dir(tinyDir()), "imagecheck") }

// TestImageCheck runs `virtcert image check` (the real binary, libguestfs
// under TCG) on the Debian fixture image and on its two faulty copies:
// each verdict is the expected one, and the evidence names what is
// missing. No guest boots, but libguestfs boots its appliance: each image
// takes a guest slot.
func TestImageCheck(t *testing.T) {
	need(t)
	for _, p := range []string{filepath.Join(debianDir(), "disk.qcow2"), filepath.Join(imagecheckDir(), "nohv.qcow2"), filepath.Join(imagecheckDir(), "novirtio.qcow2")} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("image not built (make fixtures): %v", err)
		}
	}
	cases := []struct {
		name, image, hypervisor string
		code                    int
		want                    map[string]reports.Status
		evidence                []string // in the failing check's evidence: what is missing
	}{
		{"debian", filepath.Join(debianDir(), "disk.qcow2"), "hyperv", 0,
			map[string]reports.Status{"image.pv-drivers": reports.Pass, "image.hyperv-daemons": reports.Pass, "image.cloud-init-nocloud": reports.Pass, "image.ssh-server": reports.Pass, "image.root-stable-name": reports.Pass}, nil},
		{"debian-kvm", filepath.Join(debianDir(), "disk.qcow2"), "kvm", 0,
			map[string]reports.Status{"image.pv-drivers": reports.Pass, "image.hyperv-daemons": reports.NA}, nil},
		{"nohv", filepath.Join(imagecheckDir(), "nohv.qcow2"), "hyperv", 1,
			map[string]reports.Status{"image.hyperv-daemons": reports.Fail, "image.pv-drivers": reports.Pass},
			[]string{"hv_kvp_daemon | hv_kvp_daemon installed (the host learns the guest's address through KVP) | not found (looked in /usr/sbin/hv_kvp_daemon"}},
		{"novirtio", filepath.Join(imagecheckDir(), "novirtio.qcow2"), "kvm", 1,
			map[string]reports.Status{"image.pv-drivers": reports.Fail, "image.ssh-server": reports.Pass},
			[]string{": virtio_blk | virtio_blk in the initramfs or built in | not in the initramfs (/boot/initrd.img-", ": virtio_pci | ", ": virtio_scsi | "}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			guestSlot(t)
			out := filepath.Join(t.TempDir(), "reports")
			t0 := time.Now()
			code, stdout, stderr := virtcert(t, nil, 10*time.Minute, "image", "check", c.image, "--hypervisor", c.hypervisor, "--out", out)
			t.Logf("%s --hypervisor %s: exit %d in %s", c.name, c.hypervisor, code, time.Since(t0).Round(time.Second))
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, c.code, stdout, stderr)
			}
			got := results(t, out)
			var failed *reports.Result
			for id, want := range c.want {
				r := got[id]
				if r == nil || r.Status != want {
					t.Errorf("%s: %v, want %s\n%s", id, r, want, stdout)
					continue
				}
				if want == reports.Fail {
					failed = r
				}
			}
			if failed == nil {
				return
			}
			var ev strings.Builder
			for _, e := range failed.Evidence {
				ev.WriteString(e.Step + " | " + e.Expected + " | " + e.Actual + "\n")
			}
			for _, w := range c.evidence {
				if !strings.Contains(ev.String(), w) {
					t.Errorf("%s's evidence lacks %q:\n%s", failed.Check, w, ev.String())
				}
			}
		})
	}
}

// results reads a report directory's results.json by check ID (all three
// images are Debian's: the report names it from os-release).
func results(t *testing.T, dir string) map[string]*reports.Result {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var run reports.Run
	if err := json.Unmarshal(b, &run); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"junit.xml", "report.html"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if d := run.Targets[0].Guest.Distro; !strings.Contains(d, "Debian") {
		t.Errorf("distro %q: os-release not read", d)
	}
	m := map[string]*reports.Result{}
	for _, r := range run.Targets[0].Results {
		m[r.Check] = r
	}
	return m
}
