package winrm_test

import (
	"testing"
	"time"

	"github.com/virtcert/virtcert/fixtures/pywinrm"
	"github.com/virtcert/virtcert/fixtures/wsman"
	"github.com/virtcert/virtcert/guests/transport/winrm"
)

// TestPyWinRMAgrees checks each server behaviour the transport relies on
// (the pinned certificate, 401 on wrong credentials, UTF-8 output in
// code page 65001, exit codes, CLIXML on stderr, stdin through Send, the
// w:TimedOut long poll, terminate, the w:QuotaLimit fault) with
// pywinrm, an independent client, so the transport is not proven only
// against a server shaped to suit it.
func TestPyWinRMAgrees(t *testing.T) {
	pywinrm.Need(t)
	const quota = 4
	s := startServer(t, func(c *wsman.Config) { c.MaxShellLifetimeCommands = quota })
	ca, err := s.run.WriteCAFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out, _ := pywinrm.Run(t, 90*time.Second, "testdata/pywinrm_check.py", map[string]any{
		"host": s.run.Host, "port": s.run.Port, "username": testUser, "password": testPass,
		"ca": ca, "pin": s.pin, "append_script": winrm.ScriptAppend, "quota": quota,
	})
	pywinrm.Checks(t, out, "certificate", "wrong-credentials", "utf8-exit", "clixml", "stdin-append", "long-poll-timeout", "terminate", "quota")
	if b, _ := s.guest.File(`C:\py.bin`); string(b) != "from python" {
		t.Errorf("stdin-append wrote %q", b)
	}
	if _, term := s.guest.Counts(); term != 1 {
		t.Errorf("the guest saw %d terminations, want 1 (pywinrm's cleanup_command of a running command)", term)
	}
}
