package resolve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	_ "github.com/virtcert/virtcert/drivers/all"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/suites"
)

var catalog = []suites.Check{
	{ID: "platform.ok", Area: "platform", Title: "ok", Timeout: time.Second},
	{ID: "disk.bad", Area: "disk", Title: "bad", Timeout: time.Second},
	{ID: "network.peer", Area: "network", Title: "peer", Needs: []string{suites.NeedPeer}, Timeout: time.Second},
	{ID: "windows.only", Area: "windows", Title: "w", OS: []string{"windows"}, Timeout: time.Second},
}

func testPlan(t *testing.T, extra string) *plan.Plan {
	t.Helper()
	return testPlanWith(t, catalog, extra)
}

func testPlanWith(t *testing.T, catalog []suites.Check, extra string) *plan.Plan {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "disk.qcow2"), []byte("x"), 0o644)
	text := "name: t\nhosts:\n  h1: {driver: libvirt, uri: \"qemu:///system\"}\n  e: {driver: existing, uri: \"ssh://u@10.0.0.9\", profile: kvm}\n" +
		"images:\n  tiny: {path: disk.qcow2}\n" + extra
	p, err := plan.Parse([]byte(text), "t.yaml", dir, Knowledge(catalog))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestResolve: every target gets its driver, transport, profile (the
// plan's, or auto for the driver to pick), the selected checks and the
// reason for each one left out, and a peer only when a check needs one.
func TestResolve(t *testing.T) {
	rr, err := Resolve(testPlan(t, "exclude: [disk.bad]\n"), Options{Catalog: catalog, Exclude: []string{"platform"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rr.Targets) != 2 {
		t.Fatalf("targets: %d", len(rr.Targets))
	}
	e, h := rr.Targets[0], rr.Targets[1]
	if e.ID != "e/tiny" || e.Driver != "existing" || e.Profile != "kvm" || h.Profile != ProfileAuto || h.Transport != "ssh" {
		t.Errorf("targets: %+v %+v", e, h)
	}
	if strings.Join(h.Checks, ",") != "network.peer" || len(h.Selected) != 2 {
		t.Errorf("checks: %v (selected %d, want the n/a one too)", h.Checks, len(h.Selected))
	}
	want := map[string]string{"platform.ok": "not selected: excluded by --exclude", "disk.bad": "not selected: excluded by the plan", "windows.only": "n/a: not for linux guests (windows only)"}
	for _, l := range h.LeftOut {
		if want[l.Check] != l.Reason {
			t.Errorf("left out %s: %q, want %q", l.Check, l.Reason, want[l.Check])
		}
		delete(want, l.Check)
	}
	if len(want) != 0 {
		t.Errorf("not listed as left out: %v", want)
	}
	if h.Peer == nil || h.Peer.Host != "h1" || h.Peer.Image != "tiny" || h.Peer.ImageSpec == nil {
		t.Errorf("peer: %+v", h.Peer)
	}
	var b bytes.Buffer
	if err := rr.WriteJSON(&b); err != nil || !json.Valid(b.Bytes()) || !strings.Contains(b.String(), `"provision": "2m0s"`) ||
		!strings.HasPrefix(b.String(), "{\n  \"schema_version\": \"virtcert.resolved-run/v1\",") || !strings.Contains(b.String(), `"kind": "n/a"`) {
		t.Errorf("json: %v\n%s", err, b.String())
	}
	b.Reset()
	if err := rr.WriteText(&b); err != nil || !strings.Contains(b.String(), "    disk.bad      not selected: excluded by the plan\n") {
		t.Errorf("text: %v\n%s", err, b.String())
	}
}

func TestResolveNothingSelected(t *testing.T) {
	_, err := Resolve(testPlan(t, "peer: none\n"), Options{Catalog: catalog, Only: []string{"clock"}})
	if err == nil || drivers.ClassOf(err) != drivers.ClassInput || !strings.Contains(err.Error(), "no checks selected") {
		t.Errorf("got %v", err)
	}
	rr, err := Resolve(testPlan(t, "peer: none\n"), Options{Catalog: catalog})
	if err != nil || rr.Targets[0].Peer == nil || rr.Targets[0].Peer.Why != "plan sets peer: none" {
		t.Errorf("peer none: %v %+v", err, rr)
	}
}

func TestCheckSelection(t *testing.T) {
	if err := CheckSelection("--checks", []string{"windows", "clock"}); err != nil {
		t.Errorf("areas: %v", err)
	}
	if err := CheckSelection("--checks", []string{"nope", "clok"}); err == nil ||
		err.Error() != "--checks: unknown check or area \"nope\" (see `virtcert checks`)\n--checks: unknown check or area \"clok\" (did you mean clock?)" {
		t.Errorf("got %v", err)
	}
}

func TestCredentials(t *testing.T) {
	t.Setenv("VC_PW", "s3cret")
	h := &plan.Host{PasswordEnv: "VC_PW", Username: "admin"}
	u, pw, err := Credentials(h)
	if err != nil || u != "admin" || pw.Reveal() != "s3cret" {
		t.Fatalf("got %q %v", u, err)
	}
	h = &plan.Host{PasswordEnv: "VC_PW_UNSET_X"}
	if _, _, err := Credentials(h); err == nil || !strings.Contains(err.Error(), "VC_PW_UNSET_X") {
		t.Errorf("unset env: %v", err)
	}
}

// TestSelection: globs (path.Match over IDs), areas, priorities from the
// plan and the flags, each left-out check with the selector's reason; a
// selection that leaves nothing names every selector in force.
func TestSelection(t *testing.T) {
	cat := []suites.Check{
		{ID: "clock.offset", Area: "clock", Priority: 1},
		{ID: "clock.drift", Area: "clock", Priority: 2},
		{ID: "disk.offset", Area: "disk", Priority: 3},
		{ID: "disk.iops", Area: "disk", Priority: 2},
	}
	for _, c := range []struct {
		plan string
		o    Options
		want string
		left map[string]string
	}{
		{"suites: [clock.*]\n", Options{}, "clock.offset,clock.drift", map[string]string{"disk.iops": "not selected: not in the plan's suites"}},
		{"", Options{Only: []string{"*.offset"}}, "clock.offset,disk.offset", map[string]string{"clock.drift": "not selected: not in --checks"}},
		{"priority: 2\n", Options{}, "clock.offset,clock.drift,disk.iops", map[string]string{"disk.offset": "not selected: priority 3 (the plan's priority: 2)"}},
		{"priority: 2\n", Options{Priority: 1}, "clock.offset", map[string]string{"disk.iops": "not selected: priority 2 (--priority 1)"}},
		{"exclude: [disk]\n", Options{Only: []string{"clock.o*", "disk.iops"}}, "clock.offset", map[string]string{"disk.iops": "not selected: excluded by the plan"}},
	} {
		rr, err := Resolve(testPlanWith(t, cat, "peer: none\n"+c.plan), Options{Catalog: cat, Only: c.o.Only, Priority: c.o.Priority})
		if err != nil {
			t.Errorf("%q %+v: %v", c.plan, c.o, err)
			continue
		}
		tg := rr.Targets[0]
		if got := strings.Join(tg.Checks, ","); got != c.want {
			t.Errorf("%q %+v: runs %s, want %s", c.plan, c.o, got, c.want)
		}
		for _, l := range tg.LeftOut {
			if w, ok := c.left[l.Check]; ok && w != l.Reason {
				t.Errorf("%q %+v: %s left out %q, want %q", c.plan, c.o, l.Check, l.Reason, w)
			}
		}
		if len(tg.Checks)+len(tg.LeftOut) != len(cat) {
			t.Errorf("%q %+v: %d run + %d left out, want every one of %d", c.plan, c.o, len(tg.Checks), len(tg.LeftOut), len(cat))
		}
	}
	_, err := Resolve(testPlanWith(t, cat, "priority: 1\nsuites: [disk]\n"), Options{Catalog: cat})
	if err == nil || drivers.ClassOf(err) != drivers.ClassInput ||
		!strings.Contains(err.Error(), "no checks selected: the plan's suites [disk] and the plan's priority: 1 leave none of the 4") {
		t.Errorf("empty selection: %v", err)
	}
}

// TestLeftOutReasons: the one wording of n/a (OS, hypervisor) and of a
// capability the driver lacks, and that the resolver applies them from
// the driver's registration.
func TestLeftOutReasons(t *testing.T) {
	hv := suites.Check{ID: "hyperv.kvp", Hypervisors: []string{"hyperv"}, Needs: []string{"KVP"}}
	win := suites.Check{ID: "windows.x", OS: []string{"windows"}}
	for _, c := range []struct{ got, want string }{
		{NotFor(hv, []string{"kvm", "qemu"}, "linux"), "n/a: not for kvm/qemu guests (hyperv only)"},
		{NotFor(hv, []string{"hyperv"}, "linux"), ""},
		{NotFor(hv, nil, "linux"), ""},
		{NotFor(hv, []string{"unknown"}, "linux"), "n/a: not for guests of an unknown hypervisor (hyperv only)"},
		{NotFor(hv, []string{""}, "linux"), ""},
		{NotFor(win, []string{"kvm"}, "linux"), "n/a: not for linux guests (windows only)"},
		{Lacks(hv, "existing", nil), "skip: needs KVP, which the existing driver lacks"},
		{Lacks(hv, "hyperv", []string{"KVP"}), ""},
		{Lacks(suites.Check{Needs: []string{suites.NeedPeer}}, "existing", nil), ""},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	cat := []suites.Check{{ID: "platform.ok", Area: "platform"}, hv,
		{ID: "disk.hotplug", Area: "disk", Needs: []string{drivers.CapDiskHotplug}}}
	rr, err := Resolve(testPlan(t, "peer: none\n"), Options{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	e, h := rr.Targets[0], rr.Targets[1]
	if got := fmt.Sprint(e.LeftOut); got != "[{hyperv.kvp n/a n/a: not for guests of an unknown hypervisor (hyperv only)} {disk.hotplug skip skip: needs DiskHotplug, which the existing driver lacks}]" {
		t.Errorf("existing: %s", got)
	}
	if got := fmt.Sprint(h.LeftOut); got != "[{hyperv.kvp n/a n/a: not for kvm/qemu guests (hyperv only)}]" {
		t.Errorf("libvirt: %s", got)
	}
}

func TestCheckSelector(t *testing.T) {
	k := Knowledge([]suites.Check{{ID: "clock.offset", Area: "clock"}})
	for s, want := range map[string]string{
		"clock": "", "clock.offset": "", "clock.*": "", "*.offset": "",
		"clock.offst": `unknown check or area "clock.offst" (did you mean clock.offset?)`,
		"nope":        "unknown check or area \"nope\" (see `virtcert checks`)",
		"nope.*":      "\"nope.*\" matches no check (see `virtcert checks`)",
		"[":           `bad glob "[": syntax error in pattern`,
		"":            "empty entry (name a check, an area or a glob such as clock.*)",
	} {
		got := ""
		if err := k.CheckSelector(s); err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("%q: %q, want %q", s, got, want)
		}
	}
}

// TestPlanYAMLKeepsFlagSelection: the plan a run saves for --resume
// carries what --checks, --exclude and --priority selected (a resumed
// run ran the whole plan: the priority-3 and excluded checks too); the
// plan's own selection is saved as written when no flag narrowed it.
func TestPlanYAMLKeepsFlagSelection(t *testing.T) {
	cat := []suites.Check{
		{ID: "platform.ok", Area: "platform", Title: "ok", Priority: 1, Timeout: time.Second},
		{ID: "disk.bad", Area: "disk", Title: "bad", Priority: 1, Timeout: time.Second},
		{ID: "disk.slow", Area: "disk", Title: "slow", Priority: 3, Timeout: time.Second},
		{ID: "clock.offset", Area: "clock", Title: "offset", Priority: 1, Timeout: time.Second},
	}
	for _, c := range []struct {
		name string
		o    Options
		want string
	}{
		{"priority", Options{Priority: 1}, "platform.ok disk.bad clock.offset"},
		{"checks glob and exclude", Options{Only: []string{"disk.*", "clock"}, Exclude: []string{"disk.bad"}}, "disk.slow clock.offset"},
		{"no flags", Options{}, "platform.ok disk.bad disk.slow clock.offset"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.o.Catalog = cat
			rr, err := Resolve(testPlanWith(t, cat, "matrix: [{host: h1, image: tiny}]\n"), c.o)
			if err != nil {
				t.Fatal(err)
			}
			b, err := rr.PlanYAML()
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "disk.qcow2"), []byte("x"), 0o644)
			p, err := plan.Parse(b, "plan.yaml", dir, Knowledge(cat))
			if err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			again, err := Resolve(p, Options{Catalog: cat})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(again.Targets[0].Checks, " "); got != c.want {
				t.Errorf("resumed run selects %q, want %q\n%s", got, c.want, b)
			}
			if c.name == "no flags" && bytes.Contains(b, []byte("suites")) {
				t.Errorf("the plan's selection was rewritten without a flag:\n%s", b)
			}
		})
	}
}

// TestProfileOverridesWaits: a profile_overrides file may lengthen a
// wait past its check's timeout (the run grants the check its waits), not
// past the whole run's; a wait that is not a number of seconds is bad
// input at plan load, naming the check and the key.
func TestProfileOverridesWaits(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "o.yaml")
		if err := os.WriteFile(p, []byte("name: o\nchecks:\n  "+body+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	k := Knowledge([]suites.Check{{ID: "lifecycle.reboot", Area: "lifecycle", Title: "reboot", Timeout: 12 * time.Minute,
		Keys: []string{"max_seconds", "boot_factor"}, Waits: []string{"max_seconds"}},
		{ID: "lifecycle.shutdown", Area: "lifecycle", Title: "shutdown", Timeout: 12 * time.Minute,
			Keys: []string{"max_seconds", "restart_seconds", "boot_factor"}, Waits: []string{"max_seconds", "restart_seconds"}}})
	// A short run with a file that shortens a wait: the built-in waits of
	// checks the file leaves alone are not its problem (the e2e plans run
	// 20 minutes beside built-in Windows waits of 53).
	if err := k.CheckProfileFile(write("lifecycle.shutdown: {max_seconds: 20, restart_seconds: 60, boot_factor: 0}"), time.Minute+90*time.Second); err != nil {
		t.Errorf("a short shutdown wait in a short run: %v", err)
	}
	if err := k.CheckProfileFile(write("lifecycle.reboot: {max_seconds: 3600}"), 2*time.Hour); err != nil {
		t.Errorf("a 1-hour reboot wait in a 2-hour run: %v", err)
	}
	err := k.CheckProfileFile(write("lifecycle.reboot: {max_seconds: 3600}"), time.Hour)
	if err == nil || !strings.Contains(err.Error(), "lifecycle.reboot may wait 1h1m0s (its waits max_seconds plus a minute), longer than the whole run's 1h0m0s") {
		t.Errorf("a 1-hour reboot wait in a 1-hour run: %v", err)
	}
	for _, v := range []string{"soon", "-5", "1e12", ".nan"} {
		err := k.CheckProfileFile(write("lifecycle.reboot: {max_seconds: "+v+"}"), time.Hour)
		if err == nil || !strings.Contains(err.Error(), "lifecycle.reboot waits max_seconds: not a number of seconds from 0 to a week") {
			t.Errorf("a reboot wait of %q: %v", v, err)
		}
	}
}
