package resolve

import (
	"bytes"
	"encoding/json"
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
	if strings.Join(h.Checks, ",") != "network.peer,windows.only" {
		t.Errorf("checks: %v", h.Checks)
	}
	want := map[string]string{"platform.ok": "excluded by --exclude", "disk.bad": "excluded by the plan", "windows.only": "not for linux guests: applies to [windows] guests only"}
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
	if err := rr.WriteJSON(&b); err != nil || !json.Valid(b.Bytes()) || !strings.Contains(b.String(), `"provision": "2m0s"`) {
		t.Errorf("json: %v\n%s", err, b.String())
	}
	b.Reset()
	if err := rr.WriteText(&b); err != nil || !strings.Contains(b.String(), "left out disk.bad: excluded by the plan") {
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
	if err := CheckSelection("--checks", []string{"nope"}); err == nil || err.Error() != "--checks: unknown check or area \"nope\" (see `virtcert checks`)" {
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
