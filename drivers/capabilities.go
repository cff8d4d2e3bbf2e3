package drivers

import (
	"context"
	"time"
)

// Optional capabilities. A check that needs one finds it by type assertion
// on the Guest (or Host) and SKIPs with the reason when it is missing; use
// Need to get a uniform reason text.

// DiskHotplug attaches and detaches blank disks on a running guest.
type DiskHotplug interface {
	// AttachDisk creates a blank disk of sizeMB, attaches it live and
	// returns an id for DetachDisk and the serial the guest will see.
	AttachDisk(ctx context.Context, sizeMB int) (DiskRef, error)
	// DetachDisk detaches and deletes a disk attached by AttachDisk.
	DetachDisk(ctx context.Context, ref DiskRef) error
}

// DiskRef names a hot-added disk.
type DiskRef struct {
	ID     string // driver-specific target (vdb, controller location)
	Serial string // serial the guest sees in /dev/disk/by-id, if settable
	SizeMB int
}

// LinkControl sets the link state of the guest's NICs.
type LinkControl interface {
	// SetLink sets the link of NIC index nic (0 = first) up or down.
	SetLink(ctx context.Context, nic int, up bool) error
}

// NICHotplug attaches and detaches NICs on a running guest.
type NICHotplug interface {
	AttachNIC(ctx context.Context) (NICRef, error)
	DetachNIC(ctx context.Context, ref NICRef) error
}

// NICRef names a hot-added NIC.
type NICRef struct {
	MAC string
}

// SaveRestore saves guest memory to the host and restores it.
type SaveRestore interface {
	Save(ctx context.Context) error
	Restore(ctx context.Context) error
}

// PauseResume suspends and resumes vCPUs.
type PauseResume interface {
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
}

// GuestClock reads the guest's clock through a host-side channel (the QEMU
// guest agent, Hyper-V time sync), independent of the network transport.
type GuestClock interface {
	GuestTime(ctx context.Context) (time.Time, error)
}

// GuestTimeSync sets the guest's clock from the host through a host-side
// channel: on libvirt, virDomainSetTime through the QEMU guest agent (what
// `virsh domtime --time` does, and what management layers run after a
// resume or restore, when a stopped guest's clock is behind). Hyper-V's
// time synchronization service does this by itself.
//
// Contract: a guest whose agent does not answer is a ClassGuest error;
// a host without the channel returns ErrUnsupported.
type GuestTimeSync interface {
	SetGuestTime(ctx context.Context, t time.Time) error
}

// MACs is implemented by drivers that can list the guest's NIC addresses.
type MACs interface {
	// MACs lists the MAC addresses of the guest's NICs in order.
	MACs(ctx context.Context) ([]string, error)
}

// Need returns (cap, "") when g implements T, or the zero value and a
// reason suitable for a SKIP.
func Need[T any](g any, what string) (T, string) {
	c, ok := g.(T)
	if !ok {
		var zero T
		return zero, "host driver lacks capability: " + what
	}
	return c, ""
}

// Attached is implemented by hosts that reach machines which already run
// instead of provisioning them (the existing driver): nothing is created
// or destroyed, and the machine's login and pinned host key come from the
// plan rather than from a seed.
type Attached interface {
	// AttachesExisting is a marker.
	AttachesExisting()
}

// Provisions reports whether h creates its guests (it is not Attached).
func Provisions(h Host) bool {
	_, attached := h.(Attached)
	return !attached
}

// ControllerAddress is implemented by hosts that know the controller's
// address as their guests see it (libvirt's NAT gateway), for
// guest-to-controller traffic.
type ControllerAddress interface {
	// Controller returns the controller's address for a guest at
	// guestAddr, or "" when unknown.
	Controller(guestAddr string) string
}

// RunningConfig reports the guest's configuration as the host runs it:
// the values a check compares the guest's own view with (MemTotal against
// the memory the guest was given, the NIC models it has). Checks take
// these from the host, never from the plan: the plan's defaults describe
// what the harness provisions, not a machine it did not provision.
//
// Contract (checked by drivertest for drivers that implement it):
//   - Values are read from the host for the running guest (libvirt: the
//     live domain XML; Hyper-V: Get-VM), never echoed from the GuestSpec;
//     for a guest the driver provisioned they equal what the spec asked.
//   - A field the host cannot report is zero (nil for NICModels); a host
//     that can report nothing returns ErrUnsupported.
//   - It honours ctx; a host that cannot be asked is a ClassHost error.
type RunningConfig interface {
	RunningConfig(ctx context.Context) (GuestConfig, error)
}

// GuestConfig is the host's report of a running guest.
type GuestConfig struct {
	// MemoryMB is the memory the guest was started with (libvirt
	// <memory>, the balloon's ceiling; Hyper-V MemoryStartup), in MiB.
	MemoryMB int `json:"memory_mb,omitempty"`
	// CPUs is the number of vCPUs.
	CPUs int `json:"cpus,omitempty"`
	// NICModels lists the model of each NIC in order ("virtio",
	// "e1000"); nil when the host does not say.
	NICModels []string `json:"nic_models,omitempty"`
}
