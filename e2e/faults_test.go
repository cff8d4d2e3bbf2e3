package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/drivers/libvirt"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
	_ "github.com/virtcert/virtcert/suites/console" // console.clean, run in process by TestFaultConsolePanic
)

// Each check FAILing on a guest with the real fault, through the real
// binary: one `virtcert run` per fault class, on a tiny guest whose fault
// is real (a driver that never loaded, an emulated NIC, a clock stepped an
// hour away, a disk set read-only in the block layer, a NIC whose virtual
// cable is unplugged on the host, a kernel that panicked). Each run
// selects only the checks it needs: the ones that must FAIL, with the
// evidence naming the fault, and unrelated ones that must still PASS (a
// fault must not smear across the catalog).

type faultCase struct {
	name string
	// faults is the tiny guest's virtcert.fault= list (see
	// fixtures/guests/tiny/README.md); nicModel overrides the NIC model.
	faults   string
	nicModel string
	// diskBus overrides the disk bus; override is a profile_overrides
	// checks: block (YAML, indented two spaces).
	diskBus  string
	override string
	// fail maps each check that must FAIL to patterns its reason and
	// evidence must all match: the evidence names the fault.
	fail map[string][]string
	// pass lists unrelated checks that must PASS on the same guest.
	pass []string
	// during acts on the guest from the host while the run goes on
	// (given the domain name as soon as the runner prints it).
	during func(t *testing.T, p *proc, domain string)
}

var faultCases = []faultCase{
	{
		// The virtio block driver never loads: the disk device stays
		// unbound. (virtio_net would be the classic example, but with
		// the only NIC unbound the guest cannot be reached at all;
		// the tiny guest runs from its initramfs, so its disk driver
		// can go missing while the guest stays up.)
		// The balloon driver goes missing too (drivers.balloon), and a
		// virtio disk hot-added later finds no driver, so it never
		// appears in the guest (disk.hotplug).
		name:   "pv-driver-missing",
		faults: "noload=virtio_blk+virtio_balloon",
		fail: map[string][]string{
			"drivers.paravirtual": {`unbound \(no driver link\)`, `virtio_blk`},
			"drivers.balloon":     {`virtio_balloon`},
			"disk.hotplug":        {`never appeared`},
		},
		pass: []string{"drivers.modules", "network.nic-driver", "network.link"},
	},
	{
		// An emulated NIC (e1000) instead of virtio-net, and the
		// virtio-net driver missing from the guest (drivers.modules): a
		// virtio NIC hot-added later finds no driver and never appears
		// (network.nic-hotplug). The e1000 NIC keeps the guest reachable.
		name:     "emulated-nic",
		nicModel: "e1000",
		faults:   "noload=virtio_net",
		fail: map[string][]string{
			"network.nic-driver":  {`driver of eth0: expected virtio_net, got e1000`},
			"drivers.paravirtual": {`emulated NIC model e1000`, `no device bound to virtio_net`},
			"drivers.modules":     {`virtio_net`},
			"network.nic-hotplug": {`never appeared`},
		},
		pass: []string{"disk.driver", "network.link"},
	},
	{
		// The guest clock stepped an hour ahead of the host after boot.
		name:   "clock-stepped",
		faults: "clockskew=3600",
		fail: map[string][]string{
			"clock.offset": {`expected within ±\d+(\.\d+)?s, got \+3[56]\d\d\.\d+s`},
		},
		pass: []string{"clock.monotonic", "network.link"},
	},
	{
		// The disk refuses writes: the guest set it read-only in the
		// block layer (blockdev --setro), so every write gets EPERM.
		name:   "disk-refuses-writes",
		faults: "rodisk",
		fail: map[string][]string{
			"disk.integrity":  {`write refused`},
			"disk.throughput": {`seqwrite`},
			"disk.iops":       {`randwrite`},
		},
		pass: []string{"disk.driver", "network.link"},
	},
	{
		// The root disk on the emulated IDE controller (ata_piix), and a
		// guest that ignores the ACPI power button (acpid not started):
		// the host's reboot and graceful shutdown go unanswered. Short
		// lifecycle limits keep the waits for what never comes brief.
		name:     "emulated-disk-no-power-button",
		diskBus:  "ide",
		faults:   "nopowerbutton",
		override: "lifecycle.host-reboot: {max_seconds: 20, boot_factor: 0}\n  lifecycle.shutdown: {max_seconds: 20, restart_seconds: 60, boot_factor: 0}\n",
		fail: map[string][]string{
			"disk.driver":           {`ata_piix`},
			"lifecycle.host-reboot": {`boot_id`},
			"lifecycle.shutdown":    {`off within 20s`},
		},
		pass: []string{"network.nic-driver", "network.link"},
	},
	{
		// A downed link: a second virtio NIC whose virtual cable is
		// unplugged on the host (<link state='down'/>), hot-added while
		// the guest boots. The guest brings it up administratively but
		// never sees a carrier, so its operstate stays down and it gets
		// no address. (The plan has no way to ask for a second NIC, and
		// the tiny guest's linkdown= switch only acts on NICs present
		// when its init runs, so the host side is the reliable way.)
		name: "link-down",
		fail: map[string][]string{
			"network.link": {`operstate of eth1: expected up, got (down|lowerlayerdown)`},
		},
		pass:   []string{"network.nic-driver", "disk.driver"},
		during: attachDownedNIC,
	},
}

func TestFault(t *testing.T) {
	need(t)
	t.Parallel()
	for _, fc := range faultCases {
		t.Run(fc.name, func(t *testing.T) {
			t.Parallel()
			guestSlot(t)
			runFault(t, fc)
		})
	}
}

// faultPlan is tinyPlan with the fault switches on the kernel command
// line, the NIC model, and only the checks this fault needs.
func faultPlan(t *testing.T, fc faultCase) string {
	t.Helper()
	var sel []string
	for id := range fc.fail {
		sel = append(sel, id)
	}
	sel = append(sel, fc.pass...)
	p := tinyPlan(t, "suites: ["+strings.Join(sel, ", ")+"]\n")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if fc.faults != "" {
		re := regexp.MustCompile(`(?m)^(\s*cmdline: )"(.*)"$`)
		if !re.MatchString(text) {
			t.Fatalf("no cmdline in the tiny plan:\n%s", text)
		}
		text = re.ReplaceAllString(text, `${1}"${2} virtcert.fault=`+fc.faults+`"`)
	}
	if fc.nicModel != "" {
		text = strings.Replace(text, "    memory_mb: 256\n", "    memory_mb: 256\n    nic_model: "+fc.nicModel+"\n", 1)
	}
	if fc.diskBus != "" {
		text = strings.Replace(text, "    memory_mb: 256\n", "    memory_mb: 256\n    disk_bus: "+fc.diskBus+"\n", 1)
	}
	if fc.override != "" {
		o := filepath.Join(filepath.Dir(p), "overrides.yaml")
		if err := os.WriteFile(o, []byte("name: e2e-fault-"+fc.name+"\nchecks:\n  "+fc.override), 0o644); err != nil {
			t.Fatal(err)
		}
		text += "profile_overrides: " + o + "\n"
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runFault(t *testing.T, fc faultCase) {
	out := filepath.Join(t.TempDir(), "run")
	t0 := time.Now()
	p := start(t, nil, "run", "--plan", faultPlan(t, fc), "--out", out)
	if fc.during != nil {
		l := p.waitLine(t, ` lab/tiny  provisioning vc-\S+`, 6*time.Minute)
		fc.during(t, p, regexp.MustCompile(`provisioning (vc-\S+)`).FindStringSubmatch(l)[1])
	}
	code := p.wait(t, 15*time.Minute)
	stdout := p.out()
	label := labelOf(t, stdout)
	defer assertClean(t, label)
	t.Logf("%s: exit %d after %s", fc.name, code, time.Since(t0).Round(time.Second))
	if code != 1 || !strings.Contains(stdout, "VERDICT: NOT CERTIFIED") {
		t.Errorf("exit %d, want 1 (NOT CERTIFIED)\nstdout:\n%s\nstderr:\n%s", code, stdout, p.errOut())
	}
	run := readRun(t, out)
	tg, res := resultsByCheck(t, run)
	if fc.nicModel != "" && tg.Guest.Config["nic_model"] != fc.nicModel {
		t.Errorf("fingerprint nic_model %q, want %q", tg.Guest.Config["nic_model"], fc.nicModel)
	}
	for id, pats := range fc.fail {
		r := res[id]
		if r == nil {
			t.Errorf("%s: no result", id)
			continue
		}
		ev := evidenceText(r)
		if r.Status != reports.Fail {
			t.Errorf("%s: %s, want FAIL on a guest with fault %s: %s\n%s", id, r.Status, fc.name, r.Reason, indent(ev))
			continue
		}
		for _, pat := range pats {
			if !regexp.MustCompile(pat).MatchString(ev) {
				t.Errorf("%s FAILed, but its evidence does not name the fault (no match for %q):\n%s", id, pat, indent(ev))
			}
		}
		t.Logf("%s FAIL as it must: %s", id, r.Reason)
	}
	for _, id := range fc.pass {
		r := res[id]
		if r == nil {
			t.Errorf("%s: no result", id)
		} else if r.Status != reports.Pass {
			t.Errorf("unrelated check %s: %s on a guest with fault %s (want PASS): %s\n%s", id, r.Status, fc.name, r.Reason, indent(evidenceText(r)))
		}
	}
	if len(res) != len(fc.fail)+len(fc.pass) {
		t.Errorf("%d results, want exactly the %d selected checks", len(res), len(fc.fail)+len(fc.pass))
	}
}

// virsh runs virsh against the lab.
func virsh(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "virsh", append([]string{"-c", os.Getenv("VIRTCERT_LAB_URI")}, args...)...).CombinedOutput()
	return string(out), err
}

// attachDownedNIC hot-adds a second virtio NIC with its link down as soon
// as the domain runs: the guest finds it during or right after boot, long
// before the runner has SSH, so network.link sees it.
func attachDownedNIC(t *testing.T, p *proc, domain string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for {
		st, _ := virsh(ctx, "domstate", domain)
		if strings.TrimSpace(st) == "running" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("domain %s never ran (last state %q)", domain, st)
		case <-p.done:
			t.Fatalf("virtcert exited before %s ran\n%s\n%s", domain, p.out(), p.errOut())
		case <-time.After(200 * time.Millisecond):
		}
	}
	x := filepath.Join(t.TempDir(), "nic.xml")
	os.WriteFile(x, []byte(`<interface type='network'><source network='virtcert'/><model type='virtio'/><link state='down'/></interface>`), 0o644)
	if out, err := virsh(ctx, "attach-device", domain, x, "--live"); err != nil {
		t.Fatalf("attach a downed NIC to %s: %v\n%s", domain, err, out)
	}
	out, _ := virsh(ctx, "domiflist", domain)
	t.Logf("%s NICs after the attach:\n%s", domain, out)
}

// TestFaultConsolePanic: console.clean FAILs on a guest whose kernel
// really panicked, and PASSes on the same guest just before.
//
// What is real: the tiny guest's panic= switch runs
// `echo c > /proc/sysrq-trigger`, a genuine kernel crash; the kernel
// prints its "Kernel panic - not syncing" and call trace on ttyS0, which
// libvirt captures to the console file; console.clean reads it through
// Guest.Console like in a run. What is not the binary: a run cannot show
// this, because once a guest stops answering the runner marks every later
// check "not run" — console.clean included, though it needs only the
// host — and a panic timed to land between the runner's setup and
// console.clean would race it. So the guest is provisioned with the
// libvirt driver and the check executed with suites.Execute, the same
// code path the runner uses per check.
func TestFaultConsolePanic(t *testing.T) {
	need(t)
	t.Parallel()
	guestSlot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	h, err := libvirt.Open(ctx, os.Getenv("VIRTCERT_LAB_URI"), drivers.OpenOptions{Extra: map[string]string{"network": "virtcert", "pool": "virtcert"}})
	if err != nil {
		t.Fatalf("open the lab: %v", err)
	}
	defer h.Close()
	info, err := h.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	profs, err := suites.BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	prof := profs[libvirt.DefaultProfile(info, nil)]
	var rb [3]byte
	rand.Read(rb[:])
	label := "vc-" + time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(rb[:])
	defer assertClean(t, label)
	d := tinyDir()
	cmdline, _ := os.ReadFile(filepath.Join(d, "cmdline"))
	// No seed: nothing logs in; the panic timer starts with the SSH
	// server all the same (20 s gives room for the clean reading).
	spec := drivers.GuestSpec{Name: label + "-panic", RunLabel: label, MemoryMB: 256, CPUs: 1,
		Image: drivers.Image{Path: filepath.Join(d, "disk.qcow2"), Format: "qcow2", OS: "linux",
			Kernel: filepath.Join(d, "vmlinuz"), Initrd: filepath.Join(d, "initrd.img"),
			Cmdline: strings.TrimSpace(string(cmdline)) + " virtcert.fault=panic=20"}}
	g, err := h.Provision(ctx, spec)
	if err != nil {
		t.Fatalf("provision: %v", err)
	}
	defer func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer dcancel()
		if err := g.Destroy(dctx, 3*time.Second); err != nil {
			t.Errorf("destroy: %v", err)
		}
	}()
	tg := &suites.Target{Host: h, HostInfo: info, Guest: g, Spec: spec, Profile: prof,
		ConsoleAllow: filepath.Join(root, "fixtures", "console-allow.yaml")}
	c, ok := suites.Lookup("console.clean")
	if !ok {
		t.Fatal("console.clean is not registered")
	}
	var lastErr error
	var lastOut []byte
	waitConsole := func(what string) bool {
		for ctx.Err() == nil {
			// Each read has its own bound: on a loaded lab one volume
			// download can stall, and the next read (on a fresh
			// connection) must get its chance before the test's deadline.
			cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
			b, err := g.Console(cctx)
			ccancel()
			lastErr, lastOut = err, b
			if err == nil && strings.Contains(string(b), what) {
				return true
			}
			time.Sleep(500 * time.Millisecond)
		}
		return false
	}
	tail := func() string {
		b := lastOut
		if len(b) > 1500 {
			b = b[len(b)-1500:]
		}
		return fmt.Sprintf("last console read: err %v, %d bytes, ending:\n%s", lastErr, len(lastOut), b)
	}
	if !waitConsole("virtcert-tiny: ready") {
		t.Fatalf("the guest never printed virtcert-tiny: ready; %s", tail())
	}
	before := suites.Execute(ctx, c, tg)
	if b, _ := g.Console(ctx); strings.Contains(string(b), "Kernel panic") {
		t.Logf("control reading came after the panic already (slow lab): %s", before.Status)
	} else if before.Status != reports.Pass {
		t.Errorf("console.clean before the panic: %s, want PASS: %s\n%s", before.Status, before.Reason, indent(evidenceText(before)))
	}
	if !waitConsole("Kernel panic - not syncing") {
		t.Fatalf("no kernel panic on the console within the deadline; %s", tail())
	}
	time.Sleep(2 * time.Second) // let the trace that follows reach the file
	r := suites.Execute(ctx, c, tg)
	ev := evidenceText(r)
	if r.Status != reports.Fail {
		t.Fatalf("console.clean after a kernel panic: %s, want FAIL: %s\n%s", r.Status, r.Reason, indent(ev))
	}
	for _, pat := range []string{`console line \d+ \(kernel panic\)`, `Kernel panic - not syncing: sysrq triggered crash`} {
		if !regexp.MustCompile(pat).MatchString(ev) {
			t.Errorf("console.clean FAILed, but its evidence lacks %q:\n%s", pat, indent(ev))
		}
	}
	t.Logf("console.clean FAIL as it must: %s", r.Reason)
}
