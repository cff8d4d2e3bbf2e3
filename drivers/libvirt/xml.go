package libvirt

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"strings"
	"time"

	"libvirt.org/go/libvirtxml"
)

// MetadataNS is the XML namespace of the element virtcert writes into a
// domain's <metadata>. Sweep finds our domains by asking libvirt for this
// exact element (DomainGetMetadata), so a domain without it is never ours.
const MetadataNS = "https://virtcert.dev/xmlns/v1"

// volPrefix starts the name of every volume virtcert creates:
//
//	virtcert--<run label>--<guest name>--<kind>
//
// e.g. virtcert--vc-20261121-2315-ab12cd--tiny-1--overlay.qcow2. Sweep
// parses it back, which is why labels and names may not contain "--". A
// name is not proof (anyone can pick it): that is the domain's metadata
// or the guest's owner record (owner.go).
const volPrefix = "virtcert--"

// Volume kinds (the last part of a volume name).
const (
	kindOverlay = "overlay.qcow2"
	kindSeed    = "seed.iso"
	kindConsole = "console.log"
)

// runMeta is our element inside <metadata>. It is typed and marshalled by
// encoding/xml: libvirtxml keeps application metadata as raw inner XML.
type runMeta struct {
	XMLName xml.Name `xml:"https://virtcert.dev/xmlns/v1 run"`
	Label   string   `xml:"label"`
	Guest   string   `xml:"guest"`
	Created string   `xml:"created"` // RFC 3339, UTC
}

func (m runMeta) created() (time.Time, error) {
	return time.Parse(time.RFC3339Nano, m.Created)
}

// parseRunMeta parses our metadata element. DomainGetMetadata returns it
// without its namespace (libvirt already selected it by namespace), so
// the element name is matched in any namespace here.
func parseRunMeta(s string) (runMeta, error) {
	var m struct {
		XMLName xml.Name `xml:"run"`
		Label   string   `xml:"label"`
		Guest   string   `xml:"guest"`
		Created string   `xml:"created"`
	}
	if err := xml.Unmarshal([]byte(s), &m); err != nil {
		return runMeta{}, err
	}
	if m.Label == "" {
		return runMeta{}, fmt.Errorf("virtcert metadata without a run label")
	}
	return runMeta{Label: m.Label, Guest: m.Guest, Created: m.Created}, nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// checkName validates a run label or guest name: it becomes part of
// domain and volume names, and "--" separates the parts of volume names.
func checkName(what, s string) error {
	if !nameRE.MatchString(s) {
		return fmt.Errorf("%s %q: want 1-63 characters from [A-Za-z0-9._-], starting with a letter or digit", what, s)
	}
	if strings.Contains(s, "--") {
		return fmt.Errorf("%s %q must not contain \"--\" (it separates the parts of volume names)", what, s)
	}
	return nil
}

// volName builds a volume name for run label, guest and kind.
func volName(label, guest, kind string) string {
	return volPrefix + label + "--" + guest + "--" + kind
}

// volGuestPrefix is the common prefix of every volume of one guest.
func volGuestPrefix(label, guest string) string {
	return volPrefix + label + "--" + guest + "--"
}

// parseVolName splits a virtcert volume name; ok is false for any volume
// that is not ours.
func parseVolName(name string) (label, guest, kind string, ok bool) {
	rest, found := strings.CutPrefix(name, volPrefix)
	if !found {
		return "", "", "", false
	}
	parts := strings.SplitN(rest, "--", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", false
	}
	if checkName("label", parts[0]) != nil || checkName("guest", parts[1]) != nil || !kindRE.MatchString(parts[2]) {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// kindRE lists the kinds of volume the driver creates: the overlay, the
// seed, the console log (and virtlogd's rotations of it), extra disks,
// hot-added disks and the owner record (owner.go). A volume named like ours with any other last part
// ("virtcert--backup--db01--data.qcow2") is someone else's.
var kindRE = regexp.MustCompile(`^(owner|overlay\.qcow2|seed\.iso|console\.log(\.[0-9]{1,3})?|disk[0-9]{1,3}\.qcow2|hot[0-9]{1,20}\.qcow2)$`)

// volumeXML describes a new volume. backingPath/backingFormat make a
// copy-on-write overlay (the base image is never copied); capacity 0 with
// a backing store lets libvirt take the size from the base.
func volumeXML(name, format string, capacity uint64, backingPath, backingFormat string) (string, error) {
	v := libvirtxml.StorageVolume{
		Name:   name,
		Target: &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: format}},
	}
	if capacity > 0 || backingPath == "" {
		v.Capacity = &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: capacity}
	}
	if backingPath != "" {
		v.BackingStore = &libvirtxml.StorageVolumeBackingStore{
			Path:   backingPath,
			Format: &libvirtxml.StorageVolumeTargetFormat{Type: backingFormat},
		}
	}
	return v.Marshal()
}

// domainParams is everything the domain XML depends on. It is a plain
// value so the XML can be golden-tested without a host.
type domainParams struct {
	Name       string
	Type       string // "kvm" or "qemu"
	MemoryMB   int
	CPUs       int
	Meta       runMeta
	Pool       string // storage pool holding the volumes below
	Overlay    string // root disk volume (qcow2 overlay)
	DiskBus    string // virtio (default), scsi, sata, ide
	Seed       string // seed volume name; empty for none
	SeedBus    string // scsi (default: virtio-scsi cdrom), virtio (disk), sata, ide
	ExtraDisks []string
	Network    string
	NICModel   string // virtio (default), e1000, rtl8139...
	MAC        string // optional fixed MAC of the first NIC
	Kernel     string // direct kernel boot when set
	Initrd     string
	Cmdline    string
	Console    string // host path of the serial console file
	UEFI       bool
	OS         string // image OS family: "windows" gets its timers and enlightenments
	RTC        string // "localtime" or "utc" (default)
}

// diskTargets hands out target device names per bus (vda, sda, hda...),
// in the order the disks appear.
type diskTargets map[string]int

func (d diskTargets) next(bus string) string {
	prefix := map[string]string{"virtio": "vd", "scsi": "sd", "sata": "sd", "ide": "hd"}[bus]
	// scsi and sata share the sd namespace in libvirt.
	key := prefix
	n := d[key]
	d[key] = n + 1
	return prefix + diskLetters(n)
}

// diskLetters maps 0->a, 25->z, 26->aa like the Linux sd naming.
func diskLetters(n int) string {
	s := ""
	for n >= 0 {
		s = string(rune('a'+n%26)) + s
		n = n/26 - 1
	}
	return s
}

var validBus = map[string]bool{"virtio": true, "scsi": true, "sata": true, "ide": true}

// domainXML renders the domain definition for p.
func domainXML(p domainParams) (string, error) {
	if p.DiskBus == "" {
		p.DiskBus = "virtio"
	}
	if p.SeedBus == "" {
		p.SeedBus = defaultSeedBus(p.OS)
	}
	if p.NICModel == "" {
		p.NICModel = "virtio"
	}
	if !validBus[p.DiskBus] {
		return "", fmt.Errorf("disk bus %q: want virtio, scsi, sata or ide", p.DiskBus)
	}
	if !validBus[p.SeedBus] {
		return "", fmt.Errorf("seed bus %q: want scsi, virtio, sata or ide", p.SeedBus)
	}
	meta, err := xml.Marshal(p.Meta)
	if err != nil {
		return "", err
	}
	disks := domainDisks(p)
	d := libvirtxml.Domain{
		Type:          p.Type,
		Name:          p.Name,
		Metadata:      &libvirtxml.DomainMetadata{XML: string(meta)},
		Memory:        &libvirtxml.DomainMemory{Value: uint(p.MemoryMB), Unit: "MiB"},
		CurrentMemory: &libvirtxml.DomainCurrentMemory{Value: uint(p.MemoryMB), Unit: "MiB"},
		VCPU:          &libvirtxml.DomainVCPU{Placement: "static", Value: uint(p.CPUs)},
		OS: &libvirtxml.DomainOS{
			Type:    &libvirtxml.DomainOSType{Arch: "x86_64", Type: "hvm"},
			Kernel:  p.Kernel,
			Initrd:  p.Initrd,
			Cmdline: p.Cmdline,
		},
		Features: &libvirtxml.DomainFeatureList{
			ACPI:   &libvirtxml.DomainFeature{},
			APIC:   &libvirtxml.DomainFeatureAPIC{},
			HyperV: hypervXML(p),
		},
		Clock:      clockXML(p),
		OnPoweroff: "destroy",
		OnReboot:   "restart",
		OnCrash:    "destroy",
		Devices:    domainDevices(p, disks),
	}
	if p.UEFI {
		d.OS.Firmware = "efi"
	}
	return d.Marshal()
}

// domainDisks is the domain's disks in target order: the root overlay
// (boot disk unless a kernel is given), the extra disks, then the seed.
func domainDisks(p domainParams) []libvirtxml.DomainDisk {
	targets := diskTargets{}
	volDisk := func(vol, bus, serial string) libvirtxml.DomainDisk {
		return libvirtxml.DomainDisk{
			Device: "disk",
			Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2"},
			Source: &libvirtxml.DomainDiskSource{Volume: &libvirtxml.DomainDiskSourceVolume{Pool: p.Pool, Volume: vol}},
			Target: &libvirtxml.DomainDiskTarget{Dev: targets.next(bus), Bus: bus},
			Serial: serial,
		}
	}
	root := volDisk(p.Overlay, p.DiskBus, "vc-root")
	if p.Kernel == "" {
		root.Boot = &libvirtxml.DomainDeviceBoot{Order: 1}
	}
	disks := []libvirtxml.DomainDisk{root}
	for i, v := range p.ExtraDisks {
		disks = append(disks, volDisk(v, p.DiskBus, fmt.Sprintf("vc-disk%d", i+1)))
	}
	if p.Seed != "" {
		seed := libvirtxml.DomainDisk{
			Device:   "cdrom",
			Driver:   &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw"},
			Source:   &libvirtxml.DomainDiskSource{Volume: &libvirtxml.DomainDiskSourceVolume{Pool: p.Pool, Volume: p.Seed}},
			Target:   &libvirtxml.DomainDiskTarget{Dev: targets.next(p.SeedBus), Bus: p.SeedBus},
			ReadOnly: &libvirtxml.DomainDiskReadOnly{},
		}
		if p.SeedBus == "virtio" {
			// virtio-blk has no cdrom; a read-only disk carries the same ISO.
			seed.Device = "disk"
		}
		disks = append(disks, seed)
	}
	return disks
}

// domainDevices is the domain's device list around disks.
func domainDevices(p domainParams, disks []libvirtxml.DomainDisk) *libvirtxml.DomainDeviceList {
	zero := uint(0)
	return &libvirtxml.DomainDeviceList{
		Disks: disks,
		Controllers: []libvirtxml.DomainController{
			{Type: "scsi", Index: &zero, Model: "virtio-scsi"},
			{Type: "virtio-serial", Index: &zero},
		},
		Interfaces: []libvirtxml.DomainInterface{nicXML(p.Network, p.NICModel, p.MAC)},
		Serials: []libvirtxml.DomainSerial{{
			Source: &libvirtxml.DomainChardevSource{File: &libvirtxml.DomainChardevSourceFile{Path: p.Console}},
			Target: &libvirtxml.DomainSerialTarget{Port: &zero},
		}},
		Channels: []libvirtxml.DomainChannel{{
			// The QEMU guest agent channel (GuestClock, address fallback).
			Source: &libvirtxml.DomainChardevSource{UNIX: &libvirtxml.DomainChardevSourceUNIX{Mode: "bind"}},
			Target: &libvirtxml.DomainChannelTarget{VirtIO: &libvirtxml.DomainChannelTargetVirtIO{Name: "org.qemu.guest_agent.0"}},
		}},
		RNGs: []libvirtxml.DomainRNG{{
			// Guests generate SSH keys and DHCP ids early in boot; a
			// starved entropy pool delays them under emulation.
			Model:   "virtio",
			Backend: &libvirtxml.DomainRNGBackend{Random: &libvirtxml.DomainRNGBackendRandom{Device: "/dev/urandom"}},
		}},
		// A virtio balloon, as virt-install and libvirt's own
		// defaults give a KVM guest: drivers.balloon checks the guest
		// binds it (the probe domain below needs none).
		MemBalloon: &libvirtxml.DomainMemBalloon{Model: "virtio"},
	}
}

// nicXML is one NIC on a libvirt network.
func nicXML(network, model, mac string) libvirtxml.DomainInterface {
	nic := libvirtxml.DomainInterface{
		Source: &libvirtxml.DomainInterfaceSource{Network: &libvirtxml.DomainInterfaceSourceNetwork{Network: network}},
		Model:  &libvirtxml.DomainInterfaceModel{Type: model},
	}
	if mac != "" {
		nic.MAC = &libvirtxml.DomainInterfaceMAC{Address: mac}
	}
	return nic
}

// probeDomainXML is the transient domain that tests whether an
// accelerator really runs guests: a kernel with no root disk, printing on
// the serial console early (earlyprintk) so that "Linux version" shows up
// as soon as the CPU executes the kernel. On this kind of machine a
// broken nested KVM hangs before the kernel prints anything.
func probeDomainXML(name, typ, kernel, console string, meta runMeta) (string, error) {
	m, err := xml.Marshal(meta)
	if err != nil {
		return "", err
	}
	zero := uint(0)
	d := libvirtxml.Domain{
		Type:     typ,
		Name:     name,
		Metadata: &libvirtxml.DomainMetadata{XML: string(m)},
		Memory:   &libvirtxml.DomainMemory{Value: 128, Unit: "MiB"},
		VCPU:     &libvirtxml.DomainVCPU{Value: 1},
		OS: &libvirtxml.DomainOS{
			Type:    &libvirtxml.DomainOSType{Arch: "x86_64", Type: "hvm"},
			Kernel:  kernel,
			Cmdline: "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1 reboot=t",
		},
		OnPoweroff: "destroy",
		OnReboot:   "destroy",
		OnCrash:    "destroy",
		Devices: &libvirtxml.DomainDeviceList{
			Serials: []libvirtxml.DomainSerial{{
				Source: &libvirtxml.DomainChardevSource{File: &libvirtxml.DomainChardevSourceFile{Path: console}},
				Target: &libvirtxml.DomainSerialTarget{Port: &zero},
			}},
			MemBalloon: &libvirtxml.DomainMemBalloon{Model: "none"},
		},
	}
	return d.Marshal()
}

// hotDiskXML is a disk for live attach.
func hotDiskXML(pool, vol, target, serial string) (string, error) {
	d := libvirtxml.DomainDisk{
		Device: "disk",
		Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2"},
		Source: &libvirtxml.DomainDiskSource{Volume: &libvirtxml.DomainDiskSourceVolume{Pool: pool, Volume: vol}},
		Target: &libvirtxml.DomainDiskTarget{Dev: target, Bus: "virtio"},
		Serial: serial,
	}
	return d.Marshal()
}
