package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
)

// winPlan is a one-target plan of an image "win" of OS guestOS on the
// stand-in host, with a short ready timeout.
const winPlan = `name: win
hosts:
  h1: {driver: libvirt, uri: "qemu:///system"}
images:
  win: {path: disk.qcow2, os: %OS%, memory_mb: 2048}
timeouts: {ready: 2s, provision: 5s, destroy: 1s}
peer: none
`

// runWin runs winCheck (or a Linux check for a linux plan) on h and
// returns the check's result and the run's outcome.
func runWin(t *testing.T, h *winHost, guestOS string, dial *fakeDial) (*reports.Result, *Outcome) {
	t.Helper()
	check := winCheck
	if guestOS == "linux" {
		check.ID, check.OS = "linux.hello", []string{"linux"}
	}
	o := winOpts(t, h, check)
	if dial != nil {
		o.Dial = dial.dial
	}
	t.Cleanup(func() { h.Close() })
	run, out, err := runP(context.Background(), parsePlan(t, strings.ReplaceAll(winPlan, "%OS%", guestOS)), o)
	if err != nil {
		t.Fatal(err)
	}
	return result(t, run.Targets[0], check.ID), out
}

// setupClass returns the class and text of the run's first setup error.
func setupClass(t *testing.T, out *Outcome) (drivers.Class, string) {
	t.Helper()
	if out.Setup == nil || len(out.Setup.Errs) == 0 {
		t.Fatal("no setup error")
	}
	for _, e := range out.Setup.Errs {
		t.Logf("setup error: %v", e)
	}
	return drivers.ClassOf(out.Setup.Errs[0]), out.Setup.Errs[0].Error()
}

// TestWindowsWrongCredentials: an image whose cloudbase-init set another
// account's password (WinRM refuses our login until readiness gives up)
// is bad input (class input: exit 2) naming images.win.user and the
// account, never the password; its checks ERROR, none FAILs.
func TestWindowsWrongCredentials(t *testing.T) {
	h := &winHost{guests: map[string]*winGuest{}, users: map[string]string{"Admin": "image-default-Pa55"}}
	r, out := runWin(t, h, "windows", nil)
	class, msg := setupClass(t, out)
	if class != drivers.ClassInput || r.Status != reports.Error {
		t.Fatalf("class %v, check %s: want input and ERROR; %s", class, r.Status, msg)
	}
	for _, want := range []string{"images.win.user", `refused the WinRM login as "Administrator"`, "authentication failures", "HTTP 401"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	adminPass := seedAdminPass(t, h)
	if strings.Contains(msg, adminPass) || strings.Contains(r.Reason, adminPass) {
		t.Errorf("the admin password leaks into the message or the reason")
	}
}

// TestWindowsUnreachableWinRM: a Windows guest whose WinRM port never
// answers FAILs at readiness with the reason (the port refused), also
// when its SSH port answers with Windows' OpenSSH banner: that is a
// Windows guest without WinRM, not a Linux one (not bad input).
func TestWindowsUnreachableWinRM(t *testing.T) {
	for name, banner := range map[string]string{"nothing on 22": "", "Windows OpenSSH on 22": "SSH-2.0-OpenSSH_for_Windows_8.1"} {
		t.Run(name, func(t *testing.T) {
			h := &winHost{guests: map[string]*winGuest{}, delay: time.Hour}
			if banner != "" {
				h.sshAt = sshServer(t, banner)
			}
			r, out := runWin(t, h, "windows", nil)
			if r.Status != reports.Fail {
				t.Fatalf("windows.hello: %s %q, want FAIL", r.Status, r.Reason)
			}
			if class, msg := setupClass(t, out); class != drivers.ClassGuest {
				t.Errorf("class %v, want guest: %s", class, msg)
			}
			for _, want := range []string{"never answered WINRM", "connection refused"} {
				if !strings.Contains(r.Reason, want) {
					t.Errorf("reason lacks %q: %s", want, r.Reason)
				}
			}
			if banner != "" && !strings.Contains(r.Reason, "answers as Windows (\""+banner) {
				t.Errorf("reason does not show the Windows SSH banner: %s", r.Reason)
			}
			if strings.Contains(r.Reason, ".os") {
				t.Errorf("a Windows guest taken for a mislabelled image: %s", r.Reason)
			}
		})
	}
}

// TestImageOSMismatch: a plan whose image OS is not the guest's is bad
// input naming images.win.os: os: windows, and the guest never answers
// WinRM but answers SSH as Linux; os: linux, and the guest never answers
// SSH but answers WS-Management on 5986.
func TestImageOSMismatch(t *testing.T) {
	t.Run("windows plan, Linux guest", func(t *testing.T) {
		h := &winHost{guests: map[string]*winGuest{}, delay: time.Hour}
		h.sshAt = sshServer(t, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3")
		r, out := runWin(t, h, "windows", nil)
		class, msg := setupClass(t, out)
		if class != drivers.ClassInput || r.Status != reports.Error {
			t.Fatalf("class %v, check %s: want input and ERROR; %s", class, r.Status, msg)
		}
		for _, want := range []string{"images.win.os: the plan says os: windows", "never answered WINRM", `answers as a system other than Windows ("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3")`} {
			if !strings.Contains(msg, want) {
				t.Errorf("message lacks %q: %s", want, msg)
			}
		}
	})
	t.Run("linux plan, Windows guest", func(t *testing.T) {
		h := &winHost{guests: map[string]*winGuest{}}
		r, out := runWin(t, h, "linux", &fakeDial{fail: errors.New("dial tcp: connection refused")})
		class, msg := setupClass(t, out)
		if class != drivers.ClassInput || r.Status != reports.Error {
			t.Fatalf("class %v, check %s: want input and ERROR; %s", class, r.Status, msg)
		}
		for _, want := range []string{"images.win.os: the plan says os: linux", "never answered SSH", "answers WS-Management on port 5986 (HTTP 401, WWW-Authenticate: Negotiate)", "Set images.win.os: windows"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message lacks %q: %s", want, msg)
			}
		}
	})
}
