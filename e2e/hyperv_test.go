package e2e

// Issue 4, "Done means", through the real binary against the simulated
// Hyper-V host (fixtures/hypervsim: HTTPS WinRM, each VM backed by a
// guest on the lab's libvirt):
//
//   - TestHyperVSideBySide: ONE `virtcert run` of the Debian guest over
//     the lab's libvirt and the simulated hyperv host (whose parent VHDX is
//     the same Debian disk, booted from its own bootloader); the hyperv.*
//     checks FAIL honestly (QEMU, no VMBus), the host is marked simulated in results.json and
//     report.html, both columns sit side by side with the differences
//     highlighted, junit has a testsuite per target, and nothing is left:
//     no simulated VM, differencing disk, seed, lab domain or volume.
//   - TestHyperVErrors: wrong credentials, an untrusted certificate, a host
//     without the Hyper-V module and a VM that never reports an address:
//     one line each, the exit code USAGE.md documents, no password, and
//     nothing left behind.
//
// Run: fixtures/lab/lab exec -- env VIRTCERT_E2E=1 go test -run TestHyperV -v ./e2e/

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/fixtures/hypervsim"
	"github.com/virtcert/virtcert/reports"
)

// samplePlanParent is the parent VHDX named in fixtures/plans/hyperv-sim.yaml.
const samplePlanParent = `C:\images\rhel-9.vhdx`

// debianParentPath is the simulated host's parent VHDX for the Debian
// guest.
const debianParentPath = `C:\images\debian.vhdx`

// simHost is a running simulated Hyper-V host for one test.
type simHost struct {
	*hypervsim.Sim
	User, Password string
}

// startSim starts the simulated Hyper-V host in process, backed by the lab,
// with the tiny guest's directory as its parent image (simParentPath,
// samplePlanParent), the Debian guest's (debianParentPath) when it is
// built, and a fresh random password. It is closed (destroying any backing
// guest still alive) when the test ends. opts may set NoHyperV /
// WithholdAddresses.
func startSim(t *testing.T, opts hypervsim.Options) *simHost {
	t.Helper()
	var rb [12]byte
	rand.Read(rb[:])
	s := &simHost{User: "vcadmin", Password: "Vc-S3cret-" + hex.EncodeToString(rb[:])}
	opts.LabURI = os.Getenv("VIRTCERT_LAB_URI")
	opts.Users = map[string]string{s.User: s.Password}
	opts.Dir = t.TempDir()
	// The sample plan's parent image is the tiny guest too; opts.Images
	// adds parents (TestWindowsSideBySide's Windows image).
	parents := map[string]string{simParentPath: tinyDir(), samplePlanParent: tinyDir()}
	if _, err := os.Stat(filepath.Join(debianDir(), "disk.qcow2")); err == nil {
		parents[debianParentPath] = debianDir()
	}
	images, err := hypervsim.ParentImages(parents)
	if err != nil {
		t.Fatalf("simulated Hyper-V host: %v", err)
	}
	maps.Copy(images, opts.Images)
	opts.Images = images
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sim, err := hypervsim.Start(ctx, opts)
	if err != nil {
		t.Fatalf("simulated Hyper-V host: %v", err)
	}
	s.Sim = sim
	t.Cleanup(func() { sim.Close() })
	return s
}

// hostYAML is the plan's hosts entry for the simulated host; caFile empty
// leaves the CA out (the certificate is then untrusted).
func (s *simHost) hostYAML(name, caFile, extraOptions string) string {
	y := fmt.Sprintf("  %s:\n    driver: hyperv\n    uri: %s\n    username: %s\n    password_env: VC_E2E_WINRM_PASSWORD\n", name, s.URL, s.User)
	if caFile != "" {
		y += "    ca_cert: " + caFile + "\n"
	}
	return y + "    options: {generation: \"1\"" + extraOptions + "}\n"
}

// assertSimClean checks the simulated host holds no VM and no differencing
// disk or seed (its file system keeps only what the driver uploads).
func assertSimClean(t *testing.T, s *simHost) {
	t.Helper()
	if vms := s.Backend.VMNames(); len(vms) > 0 {
		t.Errorf("the simulated host still has VMs: %v", vms)
	}
	for _, f := range s.Backend.Files() {
		if strings.HasSuffix(f, ".vhdx") || strings.HasSuffix(f, ".vhd") || strings.HasSuffix(f, ".iso") {
			t.Errorf("the simulated host still has %s", f)
		}
	}
}

// assertLabClean: neither virsh nor `virtcert sweep --all --dry-run` finds
// a domain or volume of the run.
func assertLabClean(t *testing.T, label string) {
	t.Helper()
	assertClean(t, label)
	code, out, errOut := virtcert(t, nil, 2*time.Minute, "sweep", "--uri", "lab", "--all", "--dry-run")
	if code != 0 || strings.Contains(out, label) {
		t.Errorf("sweep --all --dry-run: exit %d, and it lists the run %s:\n%s%s", code, label, out, errOut)
	}
}

var sideBySideChecks = []string{
	"platform.hypervisor", "drivers.paravirtual", "clock.offset", "network.link", "disk.integrity", "console.clean",
	"hyperv.kvp", "hyperv.heartbeat", "hyperv.integration-services", "hyperv.fcopy", "hyperv.vss",
}

func TestHyperVSideBySide(t *testing.T) {
	need(t)
	t.Parallel()
	needDebian(t)
	// Two Debian guests (1 GiB, 2 vCPUs each) take every guest slot: on
	// the lab's 2 TCG cores a third guest beside them would slow both.
	guestSlots(t, 3)
	t0 := time.Now()
	sim := startSim(t, hypervsim.Options{})
	// The libvirt host boots the Debian guest's disk (BIOS, its own grub);
	// the hyperv driver needs a bootable VHDX parent on the Windows host,
	// which the simulator maps onto the same disk (a directory with a disk
	// image: booted from the disk too). A plan image has one path for
	// every host, so the same guest appears under two image names,
	// "debian" (lab) and "debian-vhdx" (hyperv), and compare_as puts them
	// in one comparison group so the report judges them side by side.
	plan := filepath.Join(t.TempDir(), "plan.yaml")
	text := fmt.Sprintf(`name: e2e-hyperv-side-by-side
hosts:
  lab:
    driver: libvirt
    uri: lab
    options: {network: virtcert, pool: virtcert}
%simages:
  debian: {path: %s, format: qcow2, os: linux, user: debian, memory_mb: 1024, cpus: 2}
  debian-vhdx: {path: '%s', format: vhdx, os: linux, user: debian, memory_mb: 1024, cpus: 2, compare_as: debian}
matrix:
  - {host: lab, image: debian}
  - {host: hv, image: debian-vhdx}
parallel: 2
peer: none
timeouts: {provision: 3m, ready: 10m, destroy: 20s, run: 20m}
suites: [%s]
`, sim.hostYAML("hv", sim.CAFile, ", address_timeout: 8m"), filepath.Join(debianDir(), "disk.qcow2"), debianParentPath, strings.Join(sideBySideChecks, ", "))
	out, code, stdout, stderr, label := runOnSim(t, sim, plan, text, 20*time.Minute)
	t.Logf("side-by-side run of the Debian guest (lab + simulated hyperv, %d checks): exit %d after %s", len(sideBySideChecks), code, time.Since(t0).Round(time.Second))
	defer func() {
		// sweep through the plan asks both hosts, the simulated Hyper-V
		// one over WinRM (VMs whose Notes carry the label).
		code, so, se := virtcert(t, []string{"VC_E2E_WINRM_PASSWORD=" + sim.Password}, 2*time.Minute, "sweep", "--plan", plan, "--run", label, "--dry-run")
		if code != 0 || !strings.Contains(so, "nothing to sweep") {
			t.Errorf("sweep --plan (lab + hyperv) --dry-run after the run: exit %d\n%s%s", code, so, se)
		}
		t.Logf("TestHyperVSideBySide took %s", time.Since(t0).Round(time.Second))
	}()
	if code != 1 {
		t.Errorf("exit %d, want 1 (the hyperv.* checks FAIL on a QEMU-backed guest)\nstdout:\n%s\nstderr:\n%s", code, stdout, tail(stderr, 40))
	}
	run := readRun(t, out)
	if len(run.Targets) != 2 {
		t.Fatalf("results.json has %d targets, want 2", len(run.Targets))
	}
	byHost := map[string]*reports.Target{}
	for _, tg := range run.Targets {
		byHost[tg.Host] = tg
	}
	lab, hv := byHost["lab"], byHost["hv"]
	if lab == nil || hv == nil {
		t.Fatalf("targets: %v", run.Targets)
	}
	if hv.HostInfo.Nature != drivers.NatureSimulated || hv.HostInfo.Driver != "hyperv" || len(hv.HostInfo.Notes) == 0 {
		t.Errorf("hyperv host fingerprint: %+v, want nature simulated with notes", hv.HostInfo)
	}
	if lab.HostInfo.Nature == drivers.NatureSimulated || lab.HostInfo.Driver != "libvirt" {
		t.Errorf("lab host fingerprint: %+v", lab.HostInfo)
	}
	for _, tg := range []*reports.Target{lab, hv} {
		if tg.Guest.Address == "" || tg.Guest.Kernel == "" || !strings.Contains(strings.ToLower(tg.Guest.Distro), "debian") {
			t.Errorf("the %s target's Debian guest was not reached: %+v (error %q)", tg.Host, tg.Guest, tg.Error)
		}
		t.Logf("FIGURE %s: Debian guest ready after %.0fs (distro %q, kernel %q)", tg.Host, tg.Guest.BootSeconds, tg.Guest.Distro, tg.Guest.Kernel)
	}

	res := func(tg *reports.Target) map[string]*reports.Result {
		m := map[string]*reports.Result{}
		for _, r := range tg.Results {
			m[r.Check] = r
		}
		return m
	}
	lr, hr := res(lab), res(hv)
	for _, ck := range sideBySideChecks {
		r := hr[ck]
		if r == nil {
			t.Errorf("hyperv target: no result for %s", ck)
			continue
		}
		t.Logf("%-30s lab %-5s hv %-5s %s", ck, statusIn(lr, ck), r.Status, hvFirstLine(r.Reason))
		switch {
		case strings.HasPrefix(ck, "hyperv."):
			// The guest runs on QEMU: no VMBus, no KVP daemon contact, no
			// fcopy. The guest is what lacks them, so FAIL (not ERROR),
			// and the reason must say why.
			if r.Status != reports.Fail {
				t.Errorf("%s on the simulated host: %s (%s), want FAIL", ck, r.Status, r.Reason)
			}
			if !regexp.MustCompile(`(?i)simulated.*(no VMBus|QEMU)|no VMBus`).MatchString(r.Reason) {
				t.Errorf("%s: reason %q does not name the simulation / missing VMBus", ck, r.Reason)
			}
		default:
			if r.Status == reports.Error {
				t.Errorf("%s on the simulated host: ERROR (%s)", ck, r.Reason)
			}
			if l := lr[ck]; l == nil {
				t.Errorf("lab target: no result for %s", ck)
			} else if l.Status == reports.Error {
				t.Errorf("%s on the lab: ERROR (%s)", ck, l.Reason)
			}
		}
	}
	fails := 0
	for _, r := range hv.Results {
		if strings.HasPrefix(r.Check, "hyperv.") && r.Status == reports.Fail {
			fails++
		}
	}
	if fails == 0 {
		t.Errorf("no hyperv.* check FAILed on the QEMU-backed guest")
	}

	// report.html: the simulated banner and fingerprint, both columns,
	// the same check rows, and the difference markup.
	hb, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	h := string(hb)
	for _, want := range []string{`id="simulated-banner"`, "SIMULATED HOST", `<span class="n-simulated">SIMULATED</span>`} {
		if !strings.Contains(h, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	// The fingerprint table marks the simulated nature in its cell.
	if !regexp.MustCompile(`<td class="differs"><span class="n-simulated">SIMULATED</span></td>`).MatchString(h) {
		t.Errorf("report.html: the fingerprint does not show SIMULATED as a highlighted (differing) value")
	}
	cols := regexp.MustCompile(`<th scope="col" class="[^"]*" data-col="([^"]+)">`).FindAllStringSubmatch(h, -1)
	if len(cols) != 2 || cols[0][1] != "lab/debian" || cols[1][1] != "hv/debian-vhdx" {
		t.Errorf("matrix columns %v, want [lab/debian hv/debian-vhdx] side by side", cols)
	}
	rowRE := regexp.MustCompile(`(?s)<tr class="f ([^"]*)" data-check="([^"]+)">(.*?)</tr>`)
	rows := map[string][]string{}
	rowCls := map[string]string{}
	for _, m := range rowRE.FindAllStringSubmatch(h, -1) {
		rowCls[m[2]] = m[1]
		rows[m[2]] = regexp.MustCompile(`<td[^>]*>`).FindAllString(m[3], -1)
	}
	for _, ck := range sideBySideChecks {
		cells := rows[ck]
		if len(cells) != 2 {
			t.Errorf("matrix row %s has %d cells, want 2", ck, len(cells))
			continue
		}
		if strings.HasPrefix(ck, "hyperv.") {
			continue
		}
		for i, c := range cells {
			if !strings.Contains(c, "data-status=") {
				t.Errorf("matrix row %s, column %d: %s (not run?)", ck, i, c)
			}
		}
	}
	// The cross-hypervisor ≠ markup (td class "diff", row class "d"):
	// platform.hypervisor PASSes on QEMU and FAILs on the simulated
	// Hyper-V host (the guest sees QEMU, the host says hyperv), so that row
	// must be marked as differing, and a row with the same status on both
	// (network.link) must not be.
	if cls := rowCls["platform.hypervisor"]; !strings.Contains(" "+cls+" ", " d ") {
		t.Errorf("platform.hypervisor (PASS on lab, FAIL on hv) not marked as differing: row class %q", cls)
	}
	if cls := rowCls["network.link"]; strings.Contains(" "+cls+" ", " d ") {
		t.Errorf("network.link (PASS on both) marked as differing: row class %q", cls)
	}

	// junit.xml: one testsuite per target.
	jb, err := os.ReadFile(filepath.Join(out, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var ju struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Tests int    `xml:"tests,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(jb, &ju); err != nil || len(ju.Suites) != 2 {
		t.Errorf("junit.xml: %d testsuites (%+v), want 2; err=%v", len(ju.Suites), ju.Suites, err)
	} else {
		names := ju.Suites[0].Name + " " + ju.Suites[1].Name
		if !strings.Contains(names, "lab") || !strings.Contains(names, "hv") {
			t.Errorf("junit testsuite names %q do not name both targets", names)
		}
	}
}

func statusIn(m map[string]*reports.Result, ck string) string {
	if r := m[ck]; r != nil {
		return string(r.Status)
	}
	return "-"
}

func hvFirstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func TestHyperVErrors(t *testing.T) {
	need(t)
	t.Parallel()
	cases := []struct {
		name     string
		opts     hypervsim.Options
		password func(s *simHost) string
		noCA     bool
		extra    string // host options
		ready    string
		code     int
		msg      string // regexp the message must match
		guest    bool   // a backing guest is provisioned
		sample   bool   // use fixtures/plans/hyperv-sim.yaml
	}{
		// The sample plan, with the simulator's URL and CA filled in: it
		// validates, and the TLS handshake succeeds with its CA trusted
		// before the host refuses the wrong password.
		{name: "wrong-credentials", sample: true, password: func(s *simHost) string { return s.Password + "-wrong" }, code: 2,
			msg: `refused the credentials \(HTTP 401\)`},
		{name: "untrusted-certificate", noCA: true, code: 2, msg: `^(virtcert: )?SECURITY: .*(?i)certificate is not signed by a trusted CA`},
		{name: "no-hyperv-module", opts: hypervsim.Options{NoHyperV: true}, code: 3, msg: `(?i)Hyper-V PowerShell module`},
		{name: "no-address", opts: hypervsim.Options{WithholdAddresses: true}, extra: ", address_timeout: 45s", ready: "90s", code: 1,
			msg: `(?i)address.*integration services`, guest: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.guest {
				guestSlot(t)
			}
			t0 := time.Now()
			sim := startSim(t, tc.opts)
			ca := sim.CAFile
			if tc.noCA {
				ca = ""
			}
			pass := sim.Password
			if tc.password != nil {
				pass = tc.password(sim)
			}
			ready := "4m"
			if tc.ready != "" {
				ready = tc.ready
			}
			plan := filepath.Join(t.TempDir(), "plan.yaml")
			text := "name: e2e-hyperv-" + tc.name + "\nhosts:\n" + sim.hostYAML("hv", ca, tc.extra) +
				"images:\n  tiny-vhdx: {path: '" + simParentPath + "', format: vhdx, memory_mb: 256}\n" +
				"peer: none\ntimeouts: {provision: 3m, ready: " + ready + ", destroy: 3s, run: 10m}\nsuites: [e2e.uname]\n"
			env := []string{"VC_E2E_WINRM_PASSWORD=" + pass}
			if tc.sample {
				text = samplePlan(t, sim.URL, ca)
				env = []string{"VIRTCERT_HV_PASSWORD=" + pass}
			}
			os.WriteFile(plan, []byte(text), 0o644)
			out := filepath.Join(t.TempDir(), "run")
			code, stdout, stderr := virtcert(t, env, 8*time.Minute, "run", "--plan", plan, "--out", out)
			t.Logf("%s: exit %d after %s\nstdout:\n%sstderr:\n%s", tc.name, code, time.Since(t0).Round(time.Second), stdout, stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			for _, p := range []string{sim.Password, pass} {
				if strings.Contains(stdout+stderr, p) {
					t.Errorf("a password appears in the output")
				}
			}
			var msg string
			if tc.code == 1 {
				// A run that reached its verdict: the reason is in the
				// report, the per-target line and results.json.
				if l := oneLine(t, stderr); !strings.Contains(l, "NOT CERTIFIED") {
					t.Errorf("stderr %q does not give the verdict", l)
				}
				run := readRun(t, out)
				if len(run.Targets) != 1 {
					t.Fatalf("targets: %d", len(run.Targets))
				}
				msg = run.Targets[0].Error
				if msg == "" && len(run.Targets[0].Results) > 0 {
					msg = run.Targets[0].Results[0].Reason
				}
				if !strings.Contains(stdout, "NOT CERTIFIED") {
					t.Errorf("stdout lacks the NOT CERTIFIED verdict")
				}
			} else {
				msg = oneLine(t, stderr)
			}
			if !regexp.MustCompile(tc.msg).MatchString(msg) {
				t.Errorf("message %q does not match %s", msg, tc.msg)
			}
			assertSimClean(t, sim)
			if m := labelRE.FindStringSubmatch(stdout + stderr); m != nil {
				assertClean(t, m[1])
			} else if tc.guest {
				t.Errorf("no run label in the output of a run that provisioned a guest")
			}
			t.Logf("%s took %s", tc.name, time.Since(t0).Round(time.Second))
		})
	}
}

// samplePlan is fixtures/plans/hyperv-sim.yaml with the simulator's URL
// and CA file filled in, as its comments tell a user to do.
func samplePlan(t *testing.T, url, caFile string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "fixtures", "plans", "hyperv-sim.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, r := range []struct{ re, with string }{{`(?m)^    uri: .*$`, "    uri: " + url}, {`(?m)^    ca_cert: .*$`, "    ca_cert: " + caFile}} {
		rx := regexp.MustCompile(r.re)
		if len(rx.FindAllString(s, -1)) != 1 {
			t.Fatalf("sample plan: want one line matching %s", r.re)
		}
		s = rx.ReplaceAllLiteralString(s, r.with)
	}
	return s
}

// runOnSim writes the plan text to the file plan, runs
// bin/virtcert on it with the simulated host's password in the
// environment, and, when the test ends, asserts that nothing is left on
// the simulated host or the lab and that the password is in no output.
// It returns the run directory, the exit code, the output and the run's
// label. (Shared by the side-by-side tests, which differ in their plans and
// assertions only.)
func runOnSim(t *testing.T, sim *simHost, plan, text string, timeout time.Duration) (out string, code int, stdout, stderr, label string) {
	t.Helper()
	if err := os.WriteFile(plan, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(t.TempDir(), "run")
	code, stdout, stderr = virtcert(t, []string{"VC_E2E_WINRM_PASSWORD=" + sim.Password}, timeout, "run", "--plan", plan, "--out", out)
	label = labelOf(t, stdout)
	t.Cleanup(func() {
		assertSimClean(t, sim)
		assertLabClean(t, label)
	})
	if strings.Contains(stdout+stderr, sim.Password) {
		t.Errorf("the host password appears in the output")
	}
	return out, code, stdout, stderr, label
}
