package disk

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites/parse"
	"github.com/virtcert/virtcert/suites/suitetest"
)

// hotplugGuest is a simulated guest and host for disk.hotplug: the host
// attaches vdb, and the guest's block listings and kernel log answer as
// the case says. It is a fake, not a recording.
type hotplugGuest struct {
	*suitetest.Guest
	mu       sync.Mutex
	attached bool
	// listings is how many block listings after the attach still miss
	// the disk (a guest whose probes ran before it showed); -1: never
	// shows it.
	listings int
	// kernel is the kernel log after the mark ("" : the mark and nothing).
	kernel string
	ran    []string
	// attachTakes is how long the host's attach call takes.
	attachTakes time.Duration
}

func (g *hotplugGuest) AttachDisk(ctx context.Context, sizeMB int) (drivers.DiskRef, error) {
	time.Sleep(g.attachTakes)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.attached = true
	return drivers.DiskRef{ID: "vdb", SizeMB: sizeMB}, nil
}

func (g *hotplugGuest) DetachDisk(ctx context.Context, ref drivers.DiskRef) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.attached = false
	return nil
}

const hotplugVDA = "vda size=41943040 ro=0 removable=0 driver=../../../../bus/virtio/drivers/virtio_blk host= vendor= lbs=512 pbs=512 dgran=512 dmax=2147483136 parts=vda1:262144,\n"

func (g *hotplugGuest) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ran = append(g.ran, cmd.Cmd)
	out := ""
	switch suitetest.Tag(cmd.Cmd) {
	case "disk":
		out = "@@@ blocks\n" + hotplugVDA
		if g.attached {
			if g.listings == 0 {
				out += "vdb size=131072 ro=0 removable=0 driver=../../../../bus/virtio/drivers/virtio_blk host= vendor= lbs=512 pbs=512 dgran=512 dmax=2147483136 parts=\n"
			} else if g.listings > 0 {
				g.listings--
			}
		}
		out += "@@@ mounts\n/dev/vda1 / ext4 rw 0 0\n@@@ fstab\n@@@ cmdline\nroot=/dev/vda1\n@@@ blank\nvda readable=1 head=_\n"
	case "dmesgmark":
		if !strings.Contains(cmd.Cmd, "/dev/kmsg") {
			return transport.Result{}, fmt.Errorf("the mark is not written to the kernel log: %q", cmd.Cmd)
		}
		out = "812\n"
	case "dmesgsince":
		if !strings.Contains(cmd.Cmd, "tail -n +813") {
			return transport.Result{}, fmt.Errorf("kernel log read from the wrong line: %q", cmd.Cmd)
		}
		out = g.kernel
	default:
		return transport.Result{}, fmt.Errorf("unexpected command %.80q", cmd.Cmd)
	}
	return transport.Result{Cmd: cmd.Cmd, Stdout: []byte(out), Duration: time.Millisecond}, nil
}

func (g *hotplugGuest) Upload(context.Context, string, io.Reader, uint32) error { return nil }
func (g *hotplugGuest) Download(context.Context, string, io.Writer) error       { return nil }
func (g *hotplugGuest) Close() error                                            { return nil }

const markLine = "[  100.000000] " + hotplugMarkText + "\n"

// TestHotplugAppearance runs disk.hotplug on a simulated guest. The
// appearance is timed by the guest kernel's log where it can tell, and a
// block listing that shows the disk counts wherever it comes: the false
// FAIL found under load (the controller's wait ended before any listing
// showed the disk, the evidence listing then did, and the verdict said
// "never appeared") is the "late listing" case.
func TestHotplugAppearance(t *testing.T) {
	saved := hotplugTiming
	t.Cleanup(func() { hotplugTiming = saved })
	hotplugTiming.poll, hotplugTiming.settle = time.Millisecond, 0
	noWait := func(time.Duration) time.Duration { return 0 }
	shortWait := func(time.Duration) time.Duration { return 50 * time.Millisecond }
	vdbLine := "[  102.500000] virtio_blk virtio4: [vdb] 131072 512-byte logical blocks (67.1 MB/64.0 MiB)\n"
	for _, c := range []struct {
		name     string
		attach   time.Duration
		wait     func(time.Duration) time.Duration
		listings int
		kernel   string
		want     reports.Status
		reason   []string // substrings of the verdict's evidence
	}{
		// The controller gives up before any listing (every round trip
		// slower than its wait): the evidence listing shows vdb, and the
		// kernel says it came 2.5 s after the mark.
		{"late listing", 0, noWait, 0, markLine + vdbLine, reports.Pass,
			[]string{"vdb after 2.5s (guest kernel log: attach mark to the [vdb] capacity line (2.5s), less the host's attach call (0.0s))"}},
		// Listings that ran before the disk showed cost nothing: the
		// kernel's time is the appearance.
		{"slow listings, prompt kernel", 0, shortWait, 3, markLine + vdbLine, reports.Pass, []string{"vdb after 2.5s (guest kernel log"}},
		// The kernel itself took 45 s: FAIL, though a listing saw it at once.
		{"slow kernel", 0, shortWait, 0, markLine + "[  145.000000] sd 2:0:0:1: [vdb] 131072 512-byte logical blocks: (67.1 MB/64.0 MiB)\n", reports.Fail,
			[]string{"vdb after 45s (guest kernel log", "within 30s"}},
		// No times in the kernel log: the controller's clock, which said
		// at once here.
		{"untimed kernel log", 0, shortWait, 0, hotplugMarkText + "\nvirtio_blk virtio4: [vdb] 131072 512-byte logical blocks\n", reports.Pass,
			[]string{"(controller clock: end of the host's attach call to the first listing that showed it)"}},
		// The kernel logged the disk 30.2 s after the mark, 0.4 s of it
		// the host's own attach call (a loaded host creating the volume):
		// the guest took under 30 s, PASS, and the evidence says why.
		{"slow host attach", 400 * time.Millisecond, shortWait, 0, markLine + "[  130.200000] virtio_blk virtio4: [vdb] 131072 512-byte logical blocks\n", reports.Pass,
			[]string{"capacity line (30.2s), less the host's attach call (0.4s)", "within 30s"}},
		// A guest that never shows the disk FAILs.
		{"never", 0, shortWait, -1, markLine, reports.Fail, []string{"never appeared", "0 bytes"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			hotplugTiming.wait = c.wait
			g := &hotplugGuest{Guest: &suitetest.Guest{GuestName: "hotplug"}, listings: c.listings, kernel: c.kernel, attachTakes: c.attach}
			tg, err := suitetest.Target("kvm", g, g)
			if err != nil {
				t.Fatal(err)
			}
			r, err := suitetest.Execute("disk.hotplug", tg)
			if err != nil {
				t.Fatal(err)
			}
			d := suitetest.Describe(r)
			if r.Status != c.want {
				t.Fatalf("status %s, want %s\n%s", r.Status, c.want, d)
			}
			for _, s := range c.reason {
				if !strings.Contains(d, s) {
					t.Errorf("evidence lacks %q:\n%s", s, d)
				}
			}
			if c.want == reports.Pass && g.attached {
				t.Error("the disk was left attached")
			}
		})
	}
}

// TestKernelAppearance: the mark and the disk's line are both needed,
// both timed, and the disk's line must come after the mark.
func TestKernelAppearance(t *testing.T) {
	vdb := "[  101.250000] virtio_blk virtio4: [vdb] 131072 512-byte logical blocks\n"
	for _, c := range []struct {
		log  string
		want time.Duration
		ok   bool
	}{
		{markLine + vdb, 1250 * time.Millisecond, true},
		{vdb, 0, false}, // no mark
		{markLine + "[  101.0] [vdc] other disk\n", 0, false},                               // another disk
		{vdb + markLine, 0, false},                                                          // before the mark: not this attach
		{markLine + "virtio_blk virtio4: [vdb] 131072 512-byte logical blocks\n", 0, false}, // untimed
	} {
		got, ok := KernelAppearance(parse.Dmesg(c.log), "vdb")
		if got != c.want || ok != c.ok {
			t.Errorf("KernelAppearance(%q) = %v %v, want %v %v", c.log, got, ok, c.want, c.ok)
		}
	}
}
