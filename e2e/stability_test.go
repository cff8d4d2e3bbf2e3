package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/reports"
)

// Issue 15 item 6: a check's verdict must not depend on the order or timing
// of boot. The tiny guest and the Debian guest (the `make certify` plan)
// are each booted three times:
//
//   - boot 1 is the full-catalog run TestCatalog<Guest> judges (shared);
//   - boot 2 runs only e2e.fail, forced to FAIL with --keep-on-failure, so
//     the guest stays up; the guest's plan, its host swapped for the
//     `existing` driver (ssh URI, the run's key and pinned host key), then
//     certifies that running guest and must say CERTIFIED (issue 15, "Done
//     means"); its verdicts are boot 2's;
//   - boot 3 runs the non-disruptive catalog but the slow measurements.
//
// Every check judged on two or more boots must give the same status on
// each; for a measurement check that means every boot's figures stayed
// within the profile's tolerance, and the spread is logged. Evidence that
// changes from boot to boot under an unchanged status is logged too: it is
// where a boot-dependent verdict would come from. A check the existing
// driver SKIPs where the lab's libvirt driver judged it (no console, no
// host-reported hypervisor) is compared on boots 1 and 3 only; a FAIL or
// PASS through the existing driver is compared like any other: the driver
// must not change what the guest is judged to be.
//
// Covered on all three boots: every non-disruptive check except the slow
// measurements (slowMeasures; boot 1 measures them all, boot 2 the
// controller throughput). Not covered, to stay within the CI budget: the
// disruptive checks (lifecycle, hotplug, pause/save, link flap) run on
// boot 1 only, and so do the peer checks (boots 2 and 3 run no peer; the
// existing driver has none to provision). The existing-driver run leaves
// out the disruptive checks: it would reboot the kept guest.

func TestStabilityTiny(t *testing.T) { stability(t, "tiny") }

func TestStabilityDebian(t *testing.T) { stability(t, "debian") }

func stability(t *testing.T, guest string) {
	need(t)
	t.Parallel()
	if guest == "debian" {
		needDebian(t)
	}
	var lean []string // excluded from boots 2 and 3
	for _, c := range catalogAll(t) {
		if c.Disruptive || contains(c.Needs, "peer") || c.Area == "e2e" || contains(slowMeasures, c.ID) {
			lean = append(lean, c.ID)
		}
	}
	runs := make([]*reports.Run, 3)
	ok := t.Run("boots", func(t *testing.T) {
		t.Run("1", func(t *testing.T) {
			t.Parallel()
			runs[0] = catalogRun(t, guest).run
		})
		t.Run("2", func(t *testing.T) {
			t.Parallel()
			runs[1] = keptBoot(t, guest, withoutID(lean, "network.throughput.controller"))
		})
		t.Run("3", func(t *testing.T) {
			t.Parallel()
			runs[2] = plainBoot(t, guest, "exclude: ["+strings.Join(lean, ", ")+"]\n")
		})
	})
	for i, r := range runs {
		switch {
		case r == nil && !ok:
			t.Fatalf("boot %d did not finish; nothing to compare", i+1)
		case r == nil:
			t.Skipf("boot %d not selected (-run): nothing to compare", i+1)
		}
	}
	compareBoots(t, runs)
}

// bootPlan is guest's plan with extra, and peer: none.
func bootPlan(t *testing.T, guest, extra string) string {
	t.Helper()
	if guest == "debian" {
		return debianPlan(t, extra+"peer: none\n")
	}
	return tinyPlan(t, extra+"peer: none\n")
}

// plainBoot boots guest once and runs its plan with extra.
func plainBoot(t *testing.T, guest, extra string) *reports.Run {
	t.Helper()
	guestSlot(t)
	out := filepath.Join(t.TempDir(), "run")
	t0 := time.Now()
	code, stdout, stderr := virtcert(t, nil, 30*time.Minute, "run", "--plan", bootPlan(t, guest, extra), "--out", out)
	label := labelOf(t, stdout)
	defer assertClean(t, label)
	defer consoleOnFailure(t, out)
	t.Logf("FIGURE %s boot 3: boot and non-disruptive catalog in %s (exit %d)", guest, time.Since(t0).Round(time.Second), code)
	if code != 0 {
		t.Errorf("exit %d, want 0\n%s", code, stderr)
	}
	return readRun(t, out)
}

// keptBoot boots guest with e2e.fail forced to FAIL and --keep-on-failure,
// then certifies the kept guest through the existing driver (the catalog
// minus excl) and returns that run.
func keptBoot(t *testing.T, guest string, excl []string) (existing *reports.Run) {
	t.Helper()
	guestSlot(t)
	out := filepath.Join(t.TempDir(), "run")
	t0 := time.Now()
	code, stdout, stderr := virtcert(t, []string{"VIRTCERT_E2E_FAIL=1"}, 20*time.Minute,
		"run", "--plan", bootPlan(t, guest, "suites: [e2e.fail]\n"), "--out", out, "--keep-on-failure")
	label := labelOf(t, stdout)
	defer assertClean(t, label)
	defer virtcert(t, nil, 2*time.Minute, "sweep", "--uri", "lab", "--run", label)
	defer consoleOnFailure(t, out)
	t.Logf("FIGURE %s boot 2: booted and kept in %s (exit %d)", guest, time.Since(t0).Round(time.Second), code)
	if code != 1 || statusOf(readRun(t, out), "e2e.fail") != reports.Fail {
		t.Fatalf("exit %d; want 1 and e2e.fail FAIL (the forced failure keeps the guest)\n%s\n%s", code, stdout, stderr)
	}
	cfg := keptGuest(t, stdout)
	t.Run("existing-driver", func(t *testing.T) {
		existing = certifyExisting(t, guest, cfg, excl)
		if len(leftovers(t, label)) == 0 {
			t.Errorf("the existing driver destroyed a machine it does not own")
		}
	})
	return existing
}

// certifyExisting runs guest's plan, with its host replaced by an existing
// machine (the kept guest), and expects CERTIFIED.
func certifyExisting(t *testing.T, guest string, c kept, excl []string) *reports.Run {
	t.Helper()
	uri := "ssh://" + c.user + "@" + c.host
	if c.port != "" && c.port != "22" {
		uri += ":" + c.port
	}
	host := "hosts:\n  vm:\n    driver: existing\n    uri: '" + uri + "'\n"
	reach := "    key_file: " + c.key + "\n    host_key_file: " + c.knownHosts + "\n"
	var p string
	if guest == "debian" {
		p = debianPlan(t, "") // the plan of `make certify`, as it is
	} else {
		p = tinyPlan(t, "")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if guest == "tiny" {
		// A plan for a machine virtcert did not provision says nothing of
		// its memory: the 1024 MiB default must not become an expectation
		// for this 256 MiB guest (issue 15 item 1; drivers.balloon FAILed).
		b = regexp.MustCompile(`(?m)^\s*memory_mb:.*\n`).ReplaceAll(b, nil)
	}
	text, err := existingPlan(string(b), host, reach)
	if err != nil {
		t.Fatalf("%v:\n%s", err, b)
	}
	// No peer: on an existing host, "provision" a peer would hand back the
	// same machine. The lab's network checks still ping the gateway and
	// the controller.
	text += "exclude: [" + strings.Join(excl, ", ") + "]\npeer: none\n"
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "existing")
	t0 := time.Now()
	code, stdout, stderr := virtcert(t, nil, 30*time.Minute, "run", "--plan", p, "--out", out)
	run := readRun(t, out)
	t.Logf("existing driver: %s in %s (exit %d)\n%s", run.Verdict(), time.Since(t0).Round(time.Second), code, verdictTable(run))
	if code != 0 || !strings.Contains(stdout, "VERDICT: CERTIFIED") || run.Verdict() != reports.Certified {
		t.Errorf("the healthy %s guest through the existing driver: exit %d, verdict %s; want 0, CERTIFIED\nstderr: %s",
			guest, code, run.Verdict(), stderr)
	}
	return run
}

// existingPlan swaps the plan's hosts block for host and adds reach (key
// and pinned host key) to its one image.
func existingPlan(plan, host, reach string) (string, error) {
	lines := strings.SplitAfter(plan, "\n")
	var b strings.Builder
	inHosts, images, added := false, false, false
	for _, l := range lines {
		top := l != "" && l[0] != ' ' && l[0] != '#' && strings.TrimSpace(l) != ""
		switch {
		case top && strings.HasPrefix(l, "hosts:"):
			inHosts = true
			b.WriteString(host)
			continue
		case top:
			inHosts = false
			images = strings.HasPrefix(l, "images:")
		case inHosts:
			continue
		}
		b.WriteString(l)
		if images && !top && !added && strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "   ") && strings.HasSuffix(strings.TrimSpace(l), ":") {
			b.WriteString(reach)
			added = true
		}
	}
	if !added {
		return "", fmt.Errorf("no image block (\"  NAME:\" under images:) to add the key to")
	}
	return b.String(), nil
}

// slowMeasures are the measurement checks that take tens of seconds to
// minutes each under emulation (disk.iops and disk.throughput two minutes
// each on the Debian guest when fio ran beside vcprobe on every certification;
// about 30 s each with vcprobe alone, 3 rounds); boots 2 and 3 leave
// them out, but boot 2 keeps network.throughput.controller: through the
// existing driver it proves the controller address the guest's SSH session
// names. clock.offset, a measurement too, is cheap and runs on every boot.
var slowMeasures = []string{"clock.drift", "disk.iops", "disk.throughput", "network.throughput.controller", "network.throughput.peer"}

func withoutID(ids []string, id string) []string {
	var out []string
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

// verdictTable lists a run's results, one line each.
func verdictTable(run *reports.Run) string {
	var b strings.Builder
	for _, tg := range run.Targets {
		for _, r := range tg.Results {
			fmt.Fprintf(&b, "  %-30s %-5s %s\n", r.Check, r.Status, firstLine(r.Reason))
		}
	}
	return b.String()
}

// compareBoots asserts that every check judged on two or more boots has
// one status, and logs the table the lead quotes: each check's status per
// boot (boot 2 through the existing driver), measurement spreads, and
// evidence that varied.
func compareBoots(t *testing.T, runs []*reports.Run) {
	t.Helper()
	idx := make([]map[string]*reports.Result, len(runs))
	for i, r := range runs {
		_, idx[i] = resultsByCheck(t, r)
	}
	var ids []string
	for id := range idx[0] {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var table, notes strings.Builder
	fmt.Fprintf(&table, "  %-30s %-6s %-9s %-6s\n", "check", "boot1", "boot2(ex)", "boot3")
	compared := 0
	for _, id := range ids {
		rs := []*reports.Result{idx[0][id], idx[1][id], idx[2][id]}
		row := make([]string, 3)
		for i, r := range rs {
			row[i] = "-"
			if r != nil {
				row[i] = string(r.Status)
			}
		}
		// The existing driver cannot give what the host reports (console,
		// hypervisor): its SKIP, or its N/A for a check of one hypervisor
		// (the existing driver's is unknown), where libvirt judged is not
		// a boot's doing.
		if ex := rs[1]; ex != nil && (ex.Status == reports.Skip || ex.Status == reports.NA) &&
			(rs[0] != nil && rs[0].Status != ex.Status || rs[2] != nil && rs[2].Status != ex.Status) {
			row[1] += "*"
			rs[1] = nil
		}
		fmt.Fprintf(&table, "  %-30s %-6s %-9s %-6s\n", id, row[0], row[1], row[2])
		var ran []*reports.Result // the boots that judged it
		for _, r := range rs {
			if r != nil {
				ran = append(ran, r)
			}
		}
		if len(ran) < 2 {
			continue
		}
		compared++
		for _, r := range ran[1:] {
			if r.Status != ran[0].Status {
				var b strings.Builder
				for i, r := range rs {
					if r != nil {
						fmt.Fprintf(&b, "boot %d: %s: %s", i+1, r.Status, evidenceText(r))
					}
				}
				t.Errorf("%s: %s across boots of one healthy guest:\n%s", id, strings.Join(row, " / "), indent(b.String()))
				break
			}
		}
		notes.WriteString(spread(id, ran))
	}
	t.Logf("%d checks compared across boots (\"-\": not run on that boot; \"*\": SKIP or N/A through the existing driver, "+
		"compared on boots 1 and 3)\n%s%s", compared, table.String(), notes.String())
}

// spread describes what changed between boots under one status: each
// measurement's range, and evidence steps whose actual value differed.
func spread(id string, rs []*reports.Result) string {
	var b strings.Builder
	ms := map[string][]float64{}
	var names []string
	unit := map[string]string{}
	for _, r := range rs {
		for _, m := range r.Measures {
			if ms[m.Name] == nil {
				names = append(names, m.Name)
			}
			ms[m.Name] = append(ms[m.Name], m.Value)
			unit[m.Name] = m.Unit
		}
	}
	for _, n := range names {
		v := append([]float64(nil), ms[n]...)
		sort.Float64s(v)
		fmt.Fprintf(&b, "  %s measure %s: %.3g..%.3g %s over %d boots\n", id, n, v[0], v[len(v)-1], unit[n], len(v))
	}
	if len(names) > 0 {
		return b.String()
	}
	steps := map[string][]string{}
	var order []string
	for _, r := range rs {
		for _, e := range r.Evidence {
			if steps[e.Step] == nil {
				order = append(order, e.Step)
			}
			steps[e.Step] = append(steps[e.Step], e.Actual)
		}
	}
	for _, s := range order {
		a := steps[s]
		for _, x := range a[1:] {
			if x != a[0] {
				fmt.Fprintf(&b, "  %s evidence %q varies: %s\n", id, s, strings.Join(quoteAll(a), " | "))
				break
			}
		}
	}
	return b.String()
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		if len(x) > 60 {
			x = x[:60] + "..."
		}
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}

// The existing-driver plan is the certify plan with only its host swapped
// and the way in added (no lab needed).
func TestExistingPlanRewrite(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "fixtures", "plans", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := existingPlan(string(b), "hosts:\n  vm:\n    driver: existing\n    uri: 'ssh://debian@10.0.0.5'\n", "    key_file: /k\n    host_key_file: /kh\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"    driver: existing\n", "images:\n  debian:\n    key_file: /k\n    host_key_file: /kh\n    path: ", "memory_mb: 1024", "timeouts:"} {
		if !strings.Contains(got, want) {
			t.Errorf("rewritten plan lacks %q:\n%s", want, got)
		}
	}
	for _, gone := range []string{"libvirt", "pool: virtcert"} {
		if strings.Contains(got, gone) {
			t.Errorf("rewritten plan still holds %q:\n%s", gone, got)
		}
	}
}
