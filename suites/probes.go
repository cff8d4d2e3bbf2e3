package suites

// Gather scripts shared by several checks. Each is one guest session that
// prints several probes behind "@@@ name" markers (parse.Sections splits
// them); recorded transcripts match them by their ": vc=<tag>" prefix.

// ProbePlatform reads what the guest knows about its hypervisor.
var ProbePlatform = Sections("platform",
	[2]string{"detect-virt", `if command -v systemd-detect-virt >/dev/null 2>&1; then systemd-detect-virt; else echo 'systemd-detect-virt: not found'; fi`},
	[2]string{"sys-hypervisor", `cat /sys/hypervisor/type`},
	[2]string{"cpuinfo", `sed '/^$/q' /proc/cpuinfo`},
	[2]string{"dmi", ProbeDMI},
	[2]string{"dmesg", `$S dmesg | grep -E 'Hypervisor detected|Vmbus version|hv_vmbus|kvm-clock|clocksource|Booting paravirtualized|hv_balloon|virtio_balloon'`},
	[2]string{"os-release", `cat /etc/os-release`},
	[2]string{"uname", `uname -r`},
)

// ShellReaders defines two shell functions for probes that read many
// sysfs values: under emulation every process costs milliseconds
// (LAB-NOTES), and a loop of $(cat F) and $(readlink L) started one or two
// per value (a disk's line took 12). Both use builtins only:
//   - vc_get F sets vc_v to F's first line without its newline (what
//     $(cat F) gives for a one-line sysfs file), "" when F cannot be read;
//   - vc_link L sets vc_v to the physical path the link L resolves to, ""
//     when it does not; parsers take its last element (baseName), which
//     is readlink's too. It goes back to the directory it started in
//     (silently where it cannot: every probe uses absolute paths).
const ShellReaders = `vc_get() { vc_v=; IFS= read -r vc_v < "$1"; } 2>/dev/null; ` +
	`vc_link() { vc_v=; vc_w=$PWD; cd -P "$1" 2>/dev/null || return 0; vc_v=$PWD; cd "$vc_w" 2>/dev/null; }; `

// ProbeDMI prints the firmware's vendor and product; a missing file
// prints cat's own error.
const ProbeDMI = ShellReaders + `for f in sys_vendor product_name; do vc_get /sys/class/dmi/id/$f || cat /sys/class/dmi/id/$f >/dev/null; echo "$f=$vc_v"; done`

// ProbePVDevices lists every device on the virtio and VMBus buses with its
// ID and bound driver.
const ProbePVDevices = `: vc=pvdevices; ` + ShellReaders + `for d in /sys/bus/virtio/devices/* /sys/bus/vmbus/devices/*; do ` +
	`[ -e "$d" ] || continue; echo "@@@ $d"; ` +
	`for f in device vendor class_id; do [ -r "$d/$f" ] && { vc_get "$d/$f"; echo "$f=$vc_v"; }; done; ` +
	`vc_link "$d/driver"; echo "driver=$vc_v"; done; true`

// ProbeModules lists loaded, present and built-in kernel modules.
var ProbeModules = Sections("modules",
	[2]string{"proc-modules", `cat /proc/modules`},
	[2]string{"sys-module", `ls /sys/module`},
	[2]string{"builtin", `cat "/lib/modules/$(uname -r)/modules.builtin"`},
	[2]string{"uname", `uname -r`},
)

// ProbeClock reads the clocksource, clockevents, CPU flags and PTP clocks.
var ProbeClock = Sections("clock",
	[2]string{"current", `cat /sys/devices/system/clocksource/clocksource0/current_clocksource`},
	[2]string{"available", `cat /sys/devices/system/clocksource/clocksource0/available_clocksource`},
	[2]string{"clockevent", `cat /sys/devices/system/clockevents/clockevent0/current_device`},
	[2]string{"cpuinfo", `sed '/^$/q' /proc/cpuinfo`},
	[2]string{"dmesg", `$S dmesg | grep -E 'kvm-clock|clocksource|tsc:|Hyper-V|hv_vmbus|ptp'`},
	[2]string{"ptp", ShellReaders + `for p in /sys/class/ptp/ptp*; do [ -e "$p" ] && { vc_get "$p/clock_name"; echo "$p=$vc_v"; }; done; true`},
	[2]string{"ptp-hyperv", `ls -l /dev/ptp_hyperv`},
	[2]string{"chrony-refclock", `grep -rhs '^refclock' /etc/chrony /etc/chrony.conf; true`},
)

// ProbeBootID reads the boot ID (changes on every boot).
const ProbeBootID = `: vc=bootid; cat /proc/sys/kernel/random/boot_id`
