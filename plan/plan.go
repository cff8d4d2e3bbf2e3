// Package plan defines the certification plan file (YAML, decoded
// strictly) and its validation. A plan names hosts, images, which checks to
// run, parallelism and timeouts. It never holds secrets: credentials are
// named by environment variable or file (password_env, password_file); a
// key such as "password:" or a pasted private key is rejected with its line.
//
// Expansion is deliberately narrow:
//   - uri fields only: "lab" means the local lab ($VIRTCERT_LAB_URI, else
//     $VIRTCERT_LAB_DIR/uri, default /var/tmp/virtcert-lab/uri), and
//     ${NAME} is replaced by the environment variable NAME (which must be
//     set). See ResolveURI.
//   - file paths: relative paths are relative to the plan file's
//     directory; a leading "~/" is the home directory. Nothing else.
//
// Defaults for fields left out are the Default* constants below; an
// explicit zero or negative value is an error, not a request for the
// default.
package plan

import "time"

// Plan is a certification plan.
type Plan struct {
	Name string `yaml:"name"`
	// Hosts by name.
	Hosts map[string]*Host `yaml:"hosts"`
	// Images by name.
	Images map[string]*Image `yaml:"images"`
	// Matrix lists host×image pairs; empty means every host with every image.
	Matrix []Pair `yaml:"matrix"`
	// Suites selects areas ("clock"), check IDs ("clock.offset") or globs
	// over check IDs (path.Match: "clock.*", "*.offset"); left out, the
	// whole catalog.
	Suites []string `yaml:"suites"`
	// Exclude removes check IDs or areas from the selection.
	Exclude []string `yaml:"exclude"`
	// Priority keeps the checks of this priority or a more urgent one
	// (1 = must pass ... 3 = informational); 0 (left out): all.
	Priority int `yaml:"priority"`
	// Parallel bounds how many guests run at once (default 2).
	Parallel int      `yaml:"parallel"`
	Timeouts Timeouts `yaml:"timeouts"`
	// Peer asks for a second guest per target for two-guest checks:
	// "provision" (default: a guest of the target's own image), "none",
	// or a matrix target HOST/IMAGE: each target's peer is a guest of that
	// image on that host.
	Peer string `yaml:"peer"`
	// ProfileOverrides is a YAML file whose values are laid over the
	// built-in expectation profile.
	ProfileOverrides string `yaml:"profile_overrides"`
	// Waivers is a waiver file.
	Waivers string `yaml:"waivers"`
	// Console allow-list file.
	ConsoleAllow string `yaml:"console_allow"`
	// Agreement is the measurement mode: disk.throughput, disk.iops and
	// the network throughput checks also run fio and iperf3 beside
	// vcprobe and report the gap (minutes more per check under
	// emulation). Off by default: a certification judges vcprobe's
	// figures, with their rounds and spread.
	Agreement bool `yaml:"agreement"`
	// Collect says when the guests' diagnostics (dmesg, journal,
	// cloud-init logs, addresses, routes, modules, block devices) are
	// saved among a target's artifacts: "on-failure" (default: when a
	// check of the target FAILs or ERRORs), "always" or "never".
	Collect string `yaml:"collect"`

	// Path and SHA256 of the file the plan was read from (set by Load).
	Path   string `yaml:"-"`
	SHA256 string `yaml:"-"`
}

// Host is a hypervisor host.
type Host struct {
	Driver string `yaml:"driver"` // libvirt, hyperv, existing
	URI    string `yaml:"uri"`
	// Profile forces an expectation profile (default: from the host).
	Profile string `yaml:"profile"`
	// Credentials, by reference only.
	UsernameEnv  string `yaml:"username_env"`
	Username     string `yaml:"username"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	CACert       string `yaml:"ca_cert"`
	ClientCert   string `yaml:"client_cert"`
	ClientKey    string `yaml:"client_key"`
	Insecure     bool   `yaml:"insecure"`
	// Options are driver-specific (network, pool, switch, generation...).
	Options map[string]string `yaml:"options"`
	// NTPServers are the time servers guests provisioned on this host are
	// given (through their seed, cloud-init's ntp module). Default: none,
	// the image's own configuration; for uri "lab", the lab's server.
	NTPServers []string `yaml:"ntp_servers"`

	// written is the uri as the plan wrote it, when it names ${VAR}s:
	// Resolved saves it unexpanded, so a value from the environment never
	// lands in the run directory.
	written string
}

// Image is a guest image.
type Image struct {
	Path     string `yaml:"path"`
	Format   string `yaml:"format"` // qcow2, raw, vhdx
	OS       string `yaml:"os"`     // linux, windows
	User     string `yaml:"user"`   // login user
	Kernel   string `yaml:"kernel"`
	Initrd   string `yaml:"initrd"`
	Cmdline  string `yaml:"cmdline"`
	Firmware string `yaml:"firmware"` // bios, uefi
	// CompareAs names the guest OS this image is a build of, so that the
	// same OS in two formats (a qcow2 for libvirt, a VHDX for Hyper-V) is
	// compared side by side in the report. Default: the image's own name.
	CompareAs string `yaml:"compare_as"`
	MemoryMB  int    `yaml:"memory_mb"`
	CPUs      int    `yaml:"cpus"`
	// NICModel/DiskBus override the paravirtual defaults (fault guests).
	NICModel string `yaml:"nic_model"`
	DiskBus  string `yaml:"disk_bus"`
	// RTC is what the guest's hardware clock keeps: "utc", or
	// "localtime" as Windows expects unless told RealTimeIsUniversal
	// (default: localtime for windows images, utc for linux).
	RTC string `yaml:"rtc"`
	// For the existing driver: how to reach a machine that already runs.
	Address     string `yaml:"address"`
	Port        int    `yaml:"port"`
	KeyFile     string `yaml:"key_file"`      // private key file (existing)
	HostKey     string `yaml:"host_key"`      // pinned host public key (authorized_keys format)
	HostKeyFile string `yaml:"host_key_file"` // or a known_hosts / .pub file
}

// Pair is one matrix entry.
type Pair struct {
	Host  string `yaml:"host"`
	Image string `yaml:"image"`
}

// Timeouts bound the phases of a run.
type Timeouts struct {
	Provision Duration `yaml:"provision" json:"provision"` // create + start (default 2m)
	Ready     Duration `yaml:"ready" json:"ready"`         // address + SSH (default 5m)
	Check     Duration `yaml:"check" json:"check"`         // cap on every check (default: the check's own); never below the waits its profile gives it (suites.CheckTimeout)
	Destroy   Duration `yaml:"destroy" json:"destroy"`     // graceful shutdown before forcing (default 20s)
	Run       Duration `yaml:"run" json:"run"`             // whole run (default 60m)
}

// Duration is a time.Duration written as "90s" or "5m" in YAML.
type Duration time.Duration

// Defaults, applied by Load and FromFlags to fields left out of the plan.
// An explicit zero or negative value is an error, never replaced by a
// default (memory_mb: 0 is a mistake, not "use the default").
const (
	DefaultDriver    = "libvirt" // of a one-off run and of sweep --uri
	DefaultParallel  = 2
	DefaultMemoryMB  = 1024
	DefaultCPUs      = 1
	DefaultFormat    = "qcow2" // or taken from the image file's extension (.raw, .img, .vhdx)
	DefaultOS        = "linux"
	DefaultUser      = "root"
	DefaultFirmware  = "bios"
	DefaultPeer      = PeerProvision
	DefaultProvision = 2 * time.Minute
	DefaultReady     = 5 * time.Minute
	DefaultDestroy   = 20 * time.Second
	DefaultRun       = 60 * time.Minute
)

// MaxPriority is the least urgent check priority (informational).
const MaxPriority = 3

// Collect modes (Plan.Collect).
const (
	CollectOnFailure = "on-failure"
	CollectAlways    = "always"
	CollectNever     = "never"
)

// Peer modes.
const (
	PeerProvision = "provision"
	PeerNone      = "none"
)

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
