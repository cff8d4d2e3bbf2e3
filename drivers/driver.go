// Package drivers defines the host driver SPI: the small interfaces every
// hypervisor driver (libvirt, hyperv, existing) implements, the optional
// capabilities found by type assertion, and the error classes that decide
// between FAIL, ERROR and "bad input" (exit 2).
//
// Contract for implementers (checked by drivers/drivertest):
//   - Every method that can block takes a context first and returns when the
//     context is done, even if the underlying library ignores contexts.
//   - Errors are wrapped with one of the classes in errors.go so callers can
//     tell bad input from host failures from guest faults.
//   - Everything a driver creates carries the run label from the GuestSpec, so
//     Sweep can find it after a crash. Sweep never touches an unlabelled
//     resource.
package drivers

import (
	"context"
	"time"
)

// LabelKey is the key under which every resource created by virtcert
// records its run label (libvirt <metadata>, Hyper-V VM Notes).
const LabelKey = "virtcert.run"

// Opener connects to a host. uri is driver-specific (a libvirt URI, an
// https:// WinRM endpoint, or an address for the existing driver).
// Secrets arrive through opts, never through the URI text.
type Opener func(ctx context.Context, uri string, opts OpenOptions) (Host, error)

// OpenOptions carries connection settings that are not part of the URI.
type OpenOptions struct {
	// Secrets resolved from the environment or files. Drivers must never
	// log or format them into errors.
	Username string
	Password Secret
	// Insecure disables TLS verification. It is never a default.
	Insecure bool
	// CACertFile, ClientCertFile, ClientKeyFile are paths for TLS setups.
	CACertFile, ClientCertFile, ClientKeyFile string
	// Extra carries driver-specific settings from the plan (switch name,
	// pool name, network name...). Unknown keys are an error in the driver.
	Extra map[string]string
}

// Secret is a string that never prints itself.
type Secret string

func (Secret) String() string   { return "[redacted]" }
func (Secret) GoString() string { return "[redacted]" }

// Reveal returns the secret value. Call it only where the value is sent.
func (s Secret) Reveal() string { return string(s) }

// Host is a connection to one hypervisor host.
type Host interface {
	// Info describes the host for the report fingerprint. It must not block
	// for long; drivers may cache it at open time.
	Info(ctx context.Context) (HostInfo, error)

	// Provision creates and starts a guest from spec. On any error every
	// resource already created (overlay disk, seed, domain) has been removed
	// before Provision returns: a failed Provision leaves nothing behind.
	// The returned guest is started but not necessarily reachable.
	Provision(ctx context.Context, spec GuestSpec) (Guest, error)

	// Sweep removes every resource whose run label matches sel. It never
	// touches a resource without a virtcert label. It returns what it
	// removed (or would remove, when sel.DryRun is set).
	Sweep(ctx context.Context, sel SweepSelector) ([]Resource, error)

	// Close releases the connection. Guests already provisioned stay.
	Close() error
}

// Guest is one provisioned (or existing) machine.
type Guest interface {
	// Name is a stable identifier, unique on the host.
	Name() string

	// Address waits until the guest has an address reachable from the
	// controller, or ctx ends. The error explains why no address was found
	// (no lease, no agent, no integration services).
	Address(ctx context.Context) (string, error)

	// Power performs a power operation. PowerShutdown is graceful and
	// waits for the guest to stop; drivers fall back to PowerOff only when
	// asked (see Destroy).
	Power(ctx context.Context, op PowerOp) error

	// State reports the current power state.
	State(ctx context.Context) (PowerState, error)

	// Console returns everything the guest printed on its serial console
	// so far. Drivers without a console return ErrUnsupported.
	Console(ctx context.Context) ([]byte, error)

	// Destroy stops the guest (gracefully within grace, then forcibly) and
	// removes everything Provision created. It is idempotent: destroying
	// an already destroyed guest returns nil.
	Destroy(ctx context.Context, grace time.Duration) error
}

// PowerOp is a power operation.
type PowerOp string

const (
	PowerStart    PowerOp = "start"
	PowerShutdown PowerOp = "shutdown" // graceful (ACPI / integration service)
	PowerOff      PowerOp = "off"      // forced
	PowerReboot   PowerOp = "reboot"   // host-initiated graceful reboot
	PowerReset    PowerOp = "reset"    // forced reset
)

// PowerState is a guest's power state.
type PowerState string

const (
	StateRunning  PowerState = "running"
	StateOff      PowerState = "off"
	StatePaused   PowerState = "paused"
	StateSaved    PowerState = "saved"
	StateCrashed  PowerState = "crashed"
	StateUnknown  PowerState = "unknown"
	StateNotFound PowerState = "notfound"
)

// HostInfo is the host half of the environment fingerprint.
type HostInfo struct {
	Driver     string            `json:"driver"`             // "libvirt", "hyperv", "existing"
	Hypervisor string            `json:"hypervisor"`         // "kvm", "qemu", "hyperv", "unknown"
	Name       string            `json:"name"`               // host name as the host reports it
	OS         string            `json:"os,omitempty"`       // host OS and build
	Versions   map[string]string `json:"versions,omitempty"` // libvirt, qemu, Hyper-V module...
	// Accel is what the driver will use for guests: "kvm" or "tcg" for
	// libvirt (probed, not read from capabilities), "hyperv" for Hyper-V.
	Accel string `json:"accel,omitempty"`
	// Nature says whether the host is "real", "emulated" (software
	// emulation) or "simulated" (a stand-in such as the Hyper-V simulator).
	Nature string `json:"nature"`
	// Notes explains anything a reader of the report must know (why
	// emulation, what is simulated).
	Notes []string `json:"notes,omitempty"`
	// TLSUnverified is set when the plan says insecure: true for this
	// host: its TLS certificate (or SSH host key) was not verified, or
	// the connection was plain HTTP. Every report shows a banner
	// "TLS NOT VERIFIED on host X" for it.
	TLSUnverified bool `json:"tls_unverified,omitempty"`
}

// TLSBanner is the report banner for a host whose connection was not
// verified (HostInfo.TLSUnverified).
func TLSBanner(host string) string {
	return "TLS NOT VERIFIED on host " + host + " (insecure: true: certificate or host key not checked, or plain HTTP)"
}

// Host natures.
const (
	NatureReal      = "real"
	NatureEmulated  = "emulated"
	NatureSimulated = "simulated"
)

// GuestSpec is what Provision needs.
type GuestSpec struct {
	Name     string // unique name, already prefixed by the runner
	RunLabel string // the run's label; every resource carries it
	Image    Image
	MemoryMB int
	CPUs     int
	// Seed is the NoCloud seed (ISO bytes) to attach, built by the
	// runner with the per-run SSH key and pinned host keys. Nil means no
	// seed (the existing driver).
	Seed []byte
	// NICModel and DiskBus let tests build faulty guests (an emulated NIC
	// instead of virtio). Empty means the driver's paravirtual default.
	NICModel string
	DiskBus  string
	// ExtraDisks are additional blank disks in MiB.
	ExtraDisks []int
	// Extra carries driver-specific options (generation, secure boot...).
	Extra map[string]string
}

// Image is a guest image on (or reachable by) the host.
type Image struct {
	Path   string // path on the host, or a base volume name
	Format string // qcow2, raw, vhdx
	OS     string // "linux" or "windows"
	// Kernel/Initrd/Cmdline select direct kernel boot (the tiny fixture).
	Kernel, Initrd, Cmdline string
	// Firmware is "bios" or "uefi".
	Firmware string
	// RTC is "utc" or "localtime": what the emulated hardware clock
	// keeps ("" is utc). Windows keeps local time in it by default.
	RTC string
}

// SweepSelector picks resources for Sweep.
type SweepSelector struct {
	RunLabel  string        // exact run label; empty means any virtcert label
	OlderThan time.Duration // only resources older than this (0: any age)
	DryRun    bool
}

// Resource is something a driver created.
type Resource struct {
	Kind     string    `json:"kind"` // "domain", "volume", "seed", "vm", "vhdx"
	Name     string    `json:"name"`
	RunLabel string    `json:"run_label"`
	Created  time.Time `json:"created,omitempty"`
}
