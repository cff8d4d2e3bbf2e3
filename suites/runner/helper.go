package runner

import (
	"strings"

	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/guests/transport/winrm"
)

// Where vcprobe goes in a guest, by the guest's OS: Linux's /tmp, or
// the system temp directory of Windows (C:\Windows\Temp, which the
// WinRM admin can write and every session shares).
const (
	HelperPath        = "/tmp/vcprobe"
	WindowsHelperPath = `C:\Windows\Temp\vcprobe.exe`
)

// helperPath is the helper's path in a guest of this OS.
func helperPath(guestOS string) string {
	if guestOS == "windows" {
		return WindowsHelperPath
	}
	return HelperPath
}

// helperLocal is the local helper binary for a guest of this OS: probe
// itself for Linux; for Windows its windows/amd64 build, vcprobe.exe
// beside it (make vcprobe-windows).
func helperLocal(guestOS, probe string) string {
	if guestOS != "windows" || probe == "" || strings.HasSuffix(probe, ".exe") {
		return probe
	}
	return probe + ".exe"
}

// helperPresentCmd exits 0 when the helper at path is still there.
func helperPresentCmd(guestOS, path string) string {
	if guestOS == "windows" {
		return "if (Test-Path -LiteralPath " + winrm.Quote(path) + " -PathType Leaf) { exit 0 } else { exit 1 }"
	}
	return "test -x " + transport.Quote(path)
}

// helperRemoveCmd deletes the helper at path (no error when absent).
func helperRemoveCmd(guestOS, path string) string {
	if guestOS == "windows" {
		return "Remove-Item -LiteralPath " + winrm.Quote(path) + " -Force -ErrorAction SilentlyContinue"
	}
	return "rm -f " + transport.Quote(path)
}
