package resolve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/plan"
)

// TestTransportByOS: the image's OS picks the transport, whatever the
// driver registered: a Windows image on libvirt is reached over WinRM,
// a Linux image on the same host over SSH.
func TestTransportByOS(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"disk.qcow2", "win.qcow2"} {
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644)
	}
	text := "name: t\nhosts:\n  h1: {driver: libvirt, uri: \"qemu:///system\"}\n" +
		"images:\n  lin: {path: disk.qcow2}\n  win: {path: win.qcow2, os: windows}\n"
	p, err := plan.Parse([]byte(text), "t.yaml", dir, Knowledge(catalog))
	if err != nil {
		t.Fatal(err)
	}
	rr, err := Resolve(p, Options{Catalog: catalog})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tg := range rr.Targets {
		got[tg.Image] = tg.Transport + "/" + tg.OS
	}
	if got["lin"] != "ssh/linux" || got["win"] != "winrm/windows" {
		t.Errorf("transports by image: %v, want lin ssh/linux, win winrm/windows", got)
	}
}

func TestTransportFor(t *testing.T) {
	for _, c := range []struct{ os, drv, want string }{
		{"windows", "ssh", "winrm"}, {"windows", "", "winrm"}, {"linux", "ssh", "ssh"}, {"linux", "", "ssh"}, {"", "ssh", "ssh"},
	} {
		if got := TransportFor(c.os, c.drv); got != c.want {
			t.Errorf("TransportFor(%q, %q) = %q, want %q", c.os, c.drv, got, c.want)
		}
	}
}

// TestWindowsOnAttachingDriver: a Windows image on a driver that attaches
// to a running machine is bad input, said before anything runs.
func TestWindowsOnAttachingDriver(t *testing.T) {
	dir := t.TempDir()
	text := "name: t\nhosts:\n  e: {driver: existing, uri: \"ssh://u@10.0.0.9\", profile: kvm}\n" +
		"images:\n  win: {os: windows, host_key: \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ2bPk6VbGSg6Ul4ahDfNnoX8bS9fHmKjbCj9uZ9jBbZ\"}\n"
	p, err := plan.Parse([]byte(text), "t.yaml", dir, Knowledge(catalog))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Resolve(p, Options{Catalog: catalog})
	if err == nil || drivers.ClassOf(err) != drivers.ClassInput || !strings.Contains(err.Error(), "images.win.os") {
		t.Fatalf("err %v (class %v), want bad input on images.win.os", err, drivers.ClassOf(err))
	}
}
