package suites

// Gather scripts shared by several checks. Each is one guest session that
// prints several probes behind "@@@ name" markers (parse.Sections splits
// them); recorded transcripts match them by their ": vc=<tag>" prefix.

// ProbePlatform reads what the guest knows about its hypervisor.
var ProbePlatform = Sections("platform",
	[2]string{"detect-virt", `if command -v systemd-detect-virt >/dev/null 2>&1; then systemd-detect-virt; else echo 'systemd-detect-virt: not found'; fi`},
	[2]string{"sys-hypervisor", `cat /sys/hypervisor/type`},
	[2]string{"cpuinfo", `sed '/^$/q' /proc/cpuinfo`},
	[2]string{"dmi", `echo "sys_vendor=$(cat /sys/class/dmi/id/sys_vendor)"; echo "product_name=$(cat /sys/class/dmi/id/product_name)"`},
	[2]string{"dmesg", `$S dmesg | grep -E 'Hypervisor detected|Vmbus version|hv_vmbus|kvm-clock|clocksource|Booting paravirtualized|hv_balloon|virtio_balloon'`},
	[2]string{"os-release", `cat /etc/os-release`},
	[2]string{"uname", `uname -r`},
)

// ProbePVDevices lists every device on the virtio and VMBus buses with its
// ID and bound driver.
const ProbePVDevices = `: vc=pvdevices; for d in /sys/bus/virtio/devices/* /sys/bus/vmbus/devices/*; do ` +
	`[ -e "$d" ] || continue; echo "@@@ $d"; ` +
	`for f in device vendor class_id; do [ -r "$d/$f" ] && echo "$f=$(cat "$d/$f")"; done; ` +
	`echo "driver=$(readlink "$d/driver" 2>/dev/null)"; done; true`

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
	[2]string{"ptp", `for p in /sys/class/ptp/ptp*; do [ -e "$p" ] && echo "$p=$(cat "$p/clock_name")"; done; true`},
	[2]string{"ptp-hyperv", `ls -l /dev/ptp_hyperv`},
	[2]string{"chrony-refclock", `grep -rhs '^refclock' /etc/chrony /etc/chrony.conf; true`},
)

// ProbeBootID reads the boot ID (changes on every boot).
const ProbeBootID = `: vc=bootid; cat /proc/sys/kernel/random/boot_id`
