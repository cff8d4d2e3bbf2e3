package windows_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/suitetest"
	"github.com/virtcert/virtcert/suites/windows"
)

// TestInventoryShapes: the inventory parser accepts each shape Windows
// PowerShell 5.1 may write a list in (array, bare object, null, "",
// {"value":[...],"Count":n}) and finds the document after warnings.
func TestInventoryShapes(t *testing.T) {
	for _, c := range []struct {
		name, doc string
		want      int
	}{
		{"array", `{"services":[{"Name":"w32time","Status":"Running"},{"Name":"vmicvss","Status":"Stopped"}]}`, 2},
		{"bare object", `{"services":{"Name":"w32time","Status":"Running"}}`, 1},
		{"null", `{"services":null}`, 0},
		{"empty string", `{"services":""}`, 0},
		{"value and Count", `{"services":{"value":[{"Name":"w32time","Status":"Running"}],"Count":1}}`, 1},
		{"after a warning", "WARNING: something\r\n" + `{"services":[{"Name":"w32time","Status":"Running"}]}`, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			inv, err := windows.ParseInventory(c.doc)
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.Services) != c.want {
				t.Fatalf("%d services, want %d: %+v", len(inv.Services), c.want, inv.Services)
			}
			if c.want > 0 && inv.Services[0].Name != "w32time" {
				t.Fatalf("first service %+v", inv.Services[0])
			}
		})
	}
	if _, err := windows.ParseInventory("Get-CimInstance : Access denied"); err == nil {
		t.Error("no JSON document: want an error")
	}
}

// TestInventoryWMIFailed: an inventory without a single PnP device (the
// WMI queries failed) is an ERROR, never a FAIL of the guest.
func TestInventoryWMIFailed(t *testing.T) {
	f := filepath.Join(t.TempDir(), "empty.txt")
	doc := "@@ match: # virtcert: windows inventory (read-only)\n" + `{"boot":"2026-12-03T11:58:12Z","devices":[],"services":[]}` + "\n"
	if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	x, err := suitetest.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := suitetest.Target("kvm", x, &suitetest.Guest{GuestName: "win"})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := suites.Lookup("windows.drivers.problem-devices")
	if r := suites.Execute(context.Background(), c, tg); r.Status != reports.Error || !strings.Contains(r.Reason, "WMI") {
		t.Fatalf("want ERROR naming WMI, got\n%s", suitetest.Describe(r))
	}
}

// Win32_PnPEntity lists devices that are not present (code 45, Present
// False): an image built with another NIC keeps them. They are not in an
// error state; a present device with code 28 still is.
func TestProblemsIgnoreNotPresentDevices(t *testing.T) {
	inv := &windows.Inventory{Devices: []windows.Device{
		{Name: "Red Hat VirtIO Ethernet Adapter", Service: "netkvm"},
		{Name: "Intel(R) PRO/1000 MT Network Connection", PNPDeviceID: `PCI\VEN_8086&DEV_100E\3&267A616A&0&18`, Service: "E1G60", ConfigManagerErrorCode: 45},
	}}
	if v := windows.JudgeProblems(inv); !v.Items[0].OK {
		t.Fatalf("a not-present device failed the check: %+v", v.Items[0])
	}
	inv.Devices = append(inv.Devices, windows.Device{Name: "Ethernet Controller", ConfigManagerErrorCode: 28})
	if v := windows.JudgeProblems(inv); v.Items[0].OK {
		t.Fatalf("code 28 passed: %+v", v.Items[0])
	}
}

// A not-present device of a profile service is not judged for its
// signature; a service with only not-present devices still fails.
func TestSignedIgnoresNotPresentDevices(t *testing.T) {
	inv := &windows.Inventory{
		Devices: []windows.Device{
			{Name: "Red Hat VirtIO Ethernet Adapter", PNPDeviceID: `PCI\VEN_1AF4&DEV_1041&SUBSYS_11001AF4&REV_01\3&267A616A&0&18`, Service: "netkvm"},
			{Name: "Red Hat VirtIO Ethernet Adapter #2", PNPDeviceID: `PCI\VEN_1AF4&DEV_1041&SUBSYS_11001AF4&REV_01\3&267A616A&0&20`, Service: "netkvm", ConfigManagerErrorCode: 45},
		},
		Signed: []windows.SignedDriver{{DeviceID: `PCI\VEN_1AF4&DEV_1041&SUBSYS_11001AF4&REV_01\3&267A616A&0&18`, IsSigned: true, Signer: "Red Hat, Inc."}},
	}
	v := windows.JudgeSigned(inv, []string{"netkvm"}, []string{"Red Hat, Inc."})
	if len(v.Items) != 1 || !v.Items[0].OK {
		t.Fatalf("items %+v", v.Items)
	}
	inv.Devices = inv.Devices[1:]
	if v := windows.JudgeSigned(inv, []string{"netkvm"}, []string{"Red Hat, Inc."}); len(v.Items) != 1 || v.Items[0].OK {
		t.Fatalf("only a not-present device, items %+v", v.Items)
	}
}
