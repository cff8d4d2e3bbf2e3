package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/virtcert/virtcert/drivers/all"
	"github.com/virtcert/virtcert/guests"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/resolve"
	_ "github.com/virtcert/virtcert/suites/all"
)

// TestPlansLoad: the plans the benchmarks hand to virtcert load and check
// (a plan format that drifted would fail here, not on the lab).
func TestPlansLoad(t *testing.T) {
	// The plan says `uri: lab`, which resolves through the lab's URI file;
	// the unit stage runs before the lab is up, so give the URI here.
	t.Setenv("VIRTCERT_LAB_URI", "qemu:///system?socket=/nonexistent/libvirt-sock")
	dir := t.TempDir()
	hk, _ := guests.NewHostKey("t")
	g := &guest{addr: "192.0.2.7", keyFile: filepath.Join(dir, "id"), host: hk, dir: dir}
	ck, _ := guests.NewClientKey("t")
	if err := ck.WritePrivateKey(g.keyFile); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"disk.qcow2", "vmlinuz", "initrd.img"} {
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644)
	}
	texts := map[string]string{
		"existing": existingPlan(g, 16, readOnlyChecks),
		"lab":      labPlan(dir, 4, 1, []string{"platform.hypervisor"}),
	}
	for name, text := range texts {
		p, err := writePlan(dir, name+".yaml", text)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := resolve.Load(p)
		if err != nil {
			t.Errorf("%s plan: %v\n%s", name, err, text)
			continue
		}
		if name == "existing" && len(pl.Hosts) != 16 {
			t.Errorf("existing plan: %d hosts, want 16", len(pl.Hosts))
		}
	}
}

// TestGuestCommands: the replay runs each guest command of the evidence
// once, without host steps or trailing notes.
func TestGuestCommands(t *testing.T) {
	tg := &reports.Target{Results: []*reports.Result{
		{Evidence: []reports.Evidence{{Command: "cat /proc/cpuinfo"}, {Command: ""}, {Command: "host: virDomainGetInfo"}}},
		{Evidence: []reports.Evidence{{Command: "cat /proc/cpuinfo"}, {Command: "'/tmp/vcprobe' clock (one session, one line per sample)"}}},
		{Evidence: []reports.Evidence{{Command: "echo '(x)'"}}},
	}}
	got := guestCommands(tg)
	want := []string{"cat /proc/cpuinfo", "'/tmp/vcprobe' clock", "echo '(x)'"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("guestCommands = %q, want %q", got, want)
	}
	if n := countCommands(tg); n != 4 {
		t.Errorf("countCommands = %d, want 4", n)
	}
	if trips, gathered := roundTrips(tg); trips != 4 || gathered != 0 {
		t.Errorf("roundTrips without gather = %d, %d; want 4, 0", trips, gathered)
	}
}

// TestRoundTrips: commands served from one read-only snapshot (the same
// Gathered note) are one round trip together; each other command is one.
func TestRoundTrips(t *testing.T) {
	snap1 := "served from the read-only snapshot taken 10:00:00.000 UTC (3 commands in one round trip of 500ms)"
	snap2 := "served from the read-only snapshot taken 10:00:04.000 UTC (2 commands in one round trip of 400ms)"
	tg := &reports.Target{Results: []*reports.Result{
		{Evidence: []reports.Evidence{{Command: "a", Gathered: snap1}, {Command: "b", Gathered: snap1}, {Command: "host: x", Gathered: snap1}}},
		{Evidence: []reports.Evidence{{Command: "a", Gathered: snap1}, {Command: "'/tmp/vcprobe' clock"}}},
		{Evidence: []reports.Evidence{{Command: "c", Gathered: snap2}, {Command: "'/tmp/vcprobe' mono -duration 2s"}}},
	}}
	if trips, gathered := roundTrips(tg); trips != 4 || gathered != 4 {
		t.Errorf("roundTrips = %d, %d; want 4 (two snapshots, two commands on their own), 4 served from snapshots", trips, gathered)
	}
	if n := countCommands(tg); n != 6 {
		t.Errorf("countCommands = %d, want 6", n)
	}
}

// TestPreflightNoLab: outside the lab, vcbench stops at once with exit 3
// and says why (make bench must fail clearly, not hang).
func TestPreflightNoLab(t *testing.T) {
	if os.Getenv("VIRTCERT_LAB_URI") != "" {
		t.Skip("inside the lab")
	}
	dir := t.TempDir()
	for _, f := range []string{"virtcert", "vcprobe", "vmlinuz", "initrd.img", "disk.qcow2"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o755)
	}
	_, code, err := preflight(options{bin: filepath.Join(dir, "virtcert"), tiny: dir})
	if err == nil || (code != 3 && code != 2) {
		t.Fatalf("preflight outside the lab: code %d, err %v", code, err)
	}
	if code == 3 && !strings.Contains(err.Error(), "lab") {
		t.Errorf("message does not name the lab: %v", err)
	}
}

// TestBenchCatalog: f sets a run's wall time against boot plus the checks
// that are not read-only, and says whether the 1.5× goal was met. The
// fixture: 600 s of run, 100 s of boot, 350 s of live checks (disk.iops,
// lifecycle.reboot), 2 s read-only (platform.hypervisor), one N/A.
func TestBenchCatalog(t *testing.T) {
	tb, err := benchCatalog("testdata/catalog")
	if err != nil {
		t.Fatal(err)
	}
	cells := map[[2]int]string{{1, 0}: "checks that measure or change the guest (2)", {1, 1}: "350.0 s",
		{2, 1}: "450.0 s", {2, 2}: "1.00×", {3, 0}: "read-only checks (1)", {4, 1}: "600.0 s", {4, 2}: "1.33×"}
	for at, want := range cells {
		if got := tb.rows[at[0]][at[1]]; got != want {
			t.Errorf("row %d column %d: %q, want %q", at[0], at[1], got, want)
		}
	}
	notes := strings.Join(tb.notes, "\n")
	for _, want := range []string{"goal: the run within 1.5× the floor: met", "slowest live checks: disk.iops 200.0 s, lifecycle.reboot 150.0 s"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if _, err := benchCatalog(t.TempDir()); err == nil || !strings.Contains(err.Error(), "make certify") {
		t.Errorf("no results.json: %v", err)
	}
}

// TestSplitReads: b judges its goal on the checks f calls read-only (those
// that declare their reads); only the clock checks that time the guest
// against the controller are set apart, and none is lost.
func TestSplitReads(t *testing.T) {
	reads, timed := splitReads(readOnlyChecks)
	want := map[string]bool{"clock.monotonic": true, "clock.ntp-sync": true, "clock.offset": true, "clock.rtc": true}
	if len(timed) != len(want) {
		t.Errorf("timed = %v, want %v", timed, want)
	}
	for _, id := range timed {
		if !want[id] {
			t.Errorf("%s set apart as timed; it should be served from a snapshot", id)
		}
	}
	if len(reads)+len(timed) != len(readOnlyChecks) {
		t.Errorf("%d + %d checks, want %d", len(reads), len(timed), len(readOnlyChecks))
	}
}

// TestGatherSpan: b's harness time starts when the first snapshot was
// taken, before the first check, so the gathering round trip is counted;
// a snapshot taken later, or none, leaves the checks' own span.
func TestGatherSpan(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	note := func(hms string) string {
		return "served from the read-only snapshot taken " + hms + " UTC (10 commands in one round trip of 550ms)"
	}
	tg := &reports.Target{Results: []*reports.Result{
		{Started: at("2026-12-04T10:00:01.000Z"), Duration: 10 * time.Millisecond, Evidence: []reports.Evidence{{Command: "a", Gathered: note("10:00:00.400")}}},
		{Started: at("2026-12-04T10:00:01.010Z"), Duration: 90 * time.Millisecond, Evidence: []reports.Evidence{{Command: "b", Gathered: note("10:00:01.005")}}},
	}}
	if got, want := gatherSpan(tg), 700*time.Millisecond; got != want {
		t.Errorf("gatherSpan = %v, want %v (from the first snapshot at 10:00:00.400 to 10:00:01.100)", got, want)
	}
	tg.Results[0].Evidence[0].Gathered = ""
	if got, want := gatherSpan(tg), 100*time.Millisecond; got != want {
		t.Errorf("gatherSpan with a snapshot taken after the first check = %v, want %v", got, want)
	}
	// Across midnight: a snapshot at 23:59:59.800 for a check at 00:00:00.100.
	ref := at("2026-12-05T00:00:00.100Z")
	got, ok := snapshotTaken(note("23:59:59.800"), ref)
	if !ok || ref.Sub(got) != 300*time.Millisecond {
		t.Errorf("snapshotTaken across midnight = %v %v, want 300ms before %v", got, ok, ref)
	}
}
