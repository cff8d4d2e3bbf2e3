// Package parse holds pure parsers for guest command output: no I/O, no
// guest, no profile. Every parser accepts arbitrary (hostile) input without
// panicking; each has a fuzz target with a seed corpus in testdata/fuzz.
package parse

import (
	"sort"
	"strconv"
	"strings"
)

// SectionMarker starts a section in the output of a batched probe script
// (see suites.Sections): a line "@@@ name".
const SectionMarker = "@@@ "

// Sections splits batched probe output into sections by marker line. Text
// before the first marker is dropped. A repeated name keeps the first.
func Sections(out string) map[string]string {
	m := map[string]string{}
	name := ""
	var cur []string
	flush := func() {
		if name == "" {
			return
		}
		if _, dup := m[name]; !dup {
			m[name] = strings.TrimRight(strings.Join(cur, "\n"), "\n")
		}
	}
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSuffix(l, "\r")
		if strings.HasPrefix(l, SectionMarker) {
			flush()
			name, cur = strings.TrimSpace(l[len(SectionMarker):]), nil
			continue
		}
		if name != "" {
			cur = append(cur, l)
		}
	}
	flush()
	return m
}

// Missing reports whether a probe's output says the file or tool was
// absent ("No such file or directory", "not found", an empty section).
func Missing(s string) bool {
	s = strings.TrimSpace(s)
	return s == "" || strings.Contains(s, "No such file or directory") ||
		strings.Contains(s, "not found") || strings.Contains(s, "command not found") ||
		strings.Contains(s, "can't open")
}

// Device is a device on a paravirtual bus (virtio or vmbus) as sysfs shows
// it: /sys/bus/<bus>/devices/<name>/{device,vendor,class_id,driver}.
type Device struct {
	Bus  string // "virtio" or "vmbus"
	Name string // virtio0, or the VMBus instance GUID
	// ID is the virtio device ID ("0x0001") or the VMBus class_id GUID.
	ID string
	// Kind is the device type derived from ID ("net", "block", "shutdown").
	Kind string
	// Driver is the bound driver's name, "" when unbound.
	Driver string
	// Want is the driver that normally binds to this kind of device.
	Want string
}

// Bound reports whether a driver is bound.
func (d Device) Bound() bool { return d.Driver != "" }

// virtio device IDs (virtio spec 1.2, section 5 "Device Types") and the
// Linux drivers that bind them.
var virtioKinds = map[int][2]string{
	1:  {"net", "virtio_net"},
	2:  {"block", "virtio_blk"},
	3:  {"console", "virtio_console"},
	4:  {"rng", "virtio_rng"},
	5:  {"balloon", "virtio_balloon"},
	8:  {"scsi", "virtio_scsi"},
	9:  {"9p", "9pnet_virtio"},
	16: {"gpu", "virtio_gpu"},
	18: {"input", "virtio_input"},
	19: {"vsock", "vmw_vsock_virtio_transport"},
	26: {"fs", "virtiofs"},
}

// VMBus class IDs as listed by the kernel's tools/hv/lsvmbus, and the
// Linux drivers that bind them (hv_utils serves all the integration
// services).
var vmbusKinds = map[string][2]string{
	"{0e0b6031-5213-4934-818b-38d90ced39db}": {"shutdown", "hv_utils"},
	"{9527e630-d0ae-497b-adce-e80ab0175caf}": {"timesync", "hv_utils"},
	"{57164f39-9115-4e78-ab55-382f3bd5422d}": {"heartbeat", "hv_utils"},
	"{a9a0f4e7-5a45-4d96-b827-8a841e8c03e6}": {"kvp", "hv_utils"},
	"{35fa2e29-ea23-4236-96ae-3a6ebacba440}": {"vss", "hv_utils"},
	"{34d14be3-dee4-41c8-9ae7-6b174977c192}": {"fcopy", "hv_utils"},
	"{525074dc-8985-46e2-8057-a307dc18a502}": {"balloon", "hv_balloon"},
	"{cfa8b69e-5b4a-4cc0-b98b-8ba1a1f3f95a}": {"mouse", "hid_hyperv"},
	"{f912ad6d-2b17-48ea-bd65-f927a61c7684}": {"keyboard", "hyperv_keyboard"},
	"{da0a7802-e377-4aac-8e77-0558eb1073f8}": {"framebuffer", "hyperv_fb"},
	"{f8615163-df3e-46c5-913f-f2d2f965ed0e}": {"net", "hv_netvsc"},
	"{32412632-86cb-44a2-9b5c-50d1417354f5}": {"ide", "hv_storvsc"},
	"{ba6163d9-04a1-4d29-b605-72e2ffb1dc7f}": {"scsi", "hv_storvsc"},
	"{2f9bcc4a-0069-4af3-b76b-6fd0be528cda}": {"fc", "hv_storvsc"},
	"{44c4f61d-4444-4400-9d52-802e27ede19f}": {"pci", "hv_pci"},
}

// VMBusKindName returns a readable name for a VMBus kind.
func VMBusKindName(kind string) string {
	return map[string]string{
		"shutdown": "Operating system shutdown", "timesync": "Time Synchronization",
		"heartbeat": "Heartbeat", "kvp": "Data Exchange", "vss": "Backup (volume checkpoint)",
		"fcopy": "Guest services", "balloon": "Dynamic Memory", "net": "Synthetic network adapter",
		"scsi": "Synthetic SCSI Controller", "ide": "Synthetic IDE Controller",
	}[kind]
}

// BusDevices parses the output of the device probe: for each device a
// marker line "@@@ /sys/bus/<bus>/devices/<name>" followed by "key=value"
// lines (device=, class_id=, driver=). Devices come back sorted by bus and
// name.
func BusDevices(out string) []Device {
	var devs []Device
	for path, body := range Sections(out) {
		parts := strings.Split(strings.Trim(path, "/"), "/")
		// sys bus <bus> devices <name>
		if len(parts) < 5 || parts[0] != "sys" || parts[1] != "bus" || parts[3] != "devices" {
			continue
		}
		d := Device{Bus: parts[2], Name: parts[4]}
		kv := KeyValues(body, "=")
		d.Driver = baseName(kv["driver"])
		switch d.Bus {
		case "virtio":
			d.ID = kv["device"]
			if n, err := strconv.ParseInt(strings.TrimPrefix(strings.ToLower(d.ID), "0x"), 16, 32); err == nil {
				if k, ok := virtioKinds[int(n)]; ok {
					d.Kind, d.Want = k[0], k[1]
				}
			}
		case "vmbus":
			d.ID = strings.ToLower(kv["class_id"])
			if k, ok := vmbusKinds[d.ID]; ok {
				d.Kind, d.Want = k[0], k[1]
			}
		default:
			continue
		}
		if d.Kind == "" {
			d.Kind = "unknown"
		}
		devs = append(devs, d)
	}
	sort.Slice(devs, func(i, j int) bool {
		if devs[i].Bus != devs[j].Bus {
			return devs[i].Bus < devs[j].Bus
		}
		return devs[i].Name < devs[j].Name
	})
	return devs
}

func baseName(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// KeyValues parses "key<sep>value" lines; later keys win, other lines are
// ignored. Keys and values are trimmed.
func KeyValues(s, sep string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(l, sep)
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		m[k] = strings.TrimSpace(v)
	}
	return m
}

// Words splits a sysfs list file ("tsc hpet acpi_pm").
func Words(s string) []string { return strings.Fields(s) }

// FirstLine returns the first line of s, trimmed.
func FirstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(l)
}
