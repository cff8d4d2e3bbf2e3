package windows

import "github.com/virtcert/virtcert/suites"

// The guest fault each Windows check exists to catch, and its proof. No
// Windows guest can run on the project's machines: every proof is a
// transcript constructed from Microsoft's documented output formats
// (fixtures/transcripts/windows-*/SOURCES.md), replayed through the real
// check by TestWindowsTranscripts; none is captured.
func init() {
	const test = "TestWindowsTranscripts"
	tp := func(cases ...string) []suites.Proof {
		var ps []suites.Proof
		for _, c := range cases {
			ps = append(ps, suites.TranscriptProof(test, c))
		}
		return ps
	}
	f := func(what, made string, cases ...string) suites.Fault {
		return suites.Fault{What: what, Made: made, Proofs: tp(cases...)}
	}
	const kvm, hv = "windows-kvm/", "windows-hyperv-gen2/"
	suites.DescribeFaults(map[string]suites.Fault{
		"windows.platform.hypervisor": f("Windows does not see the hypervisor (acceleration or enlightenments lost, SMBIOS of another vendor)",
			"Win32_ComputerSystem with HypervisorPresent False and a non-virtual manufacturer", kvm+"platform/no-hypervisor.txt"),
		"windows.platform.firmware": f("the guest booted with the wrong firmware (BIOS where the platform is UEFI)",
			"a generation 2 guest whose $env:firmware_type is Legacy", hv+"platform/bios-boot.txt"),
		"windows.platform.secure-boot": f("Secure Boot is off or unavailable where the profile requires it",
			"Confirm-SecureBootUEFI False on generation 2; unsupported on a BIOS boot", hv+"platform/secure-boot-off.txt", hv+"platform/bios-boot.txt"),
		"windows.drivers.present": f("a paravirtual device has no working driver (virtio-win not installed: Device Manager code 28)",
			"the virtio NIC as 'Ethernet Controller' without netkvm, ConfigManagerErrorCode 28; the boot disk on emulated SATA",
			kvm+"drivers/missing-netkvm.txt", kvm+"disk/emulated-sata.txt"),
		"windows.drivers.signed": f("a paravirtual driver is unsigned or signed by another publisher",
			"viostor with IsSigned False and no Signer; netkvm missing from Win32_PnPSignedDriver",
			kvm+"drivers/unsigned-viostor.txt", kvm+"drivers/missing-netkvm.txt"),
		"windows.drivers.running": f("a paravirtual kernel driver is installed but not running",
			"Win32_SystemDriver BALLOON Stopped; netkvm absent", kvm+"drivers/stopped-balloon.txt", kvm+"drivers/missing-netkvm.txt"),
		"windows.drivers.problem-devices": f("a device is in an error state (missing driver, cannot start, disabled)",
			"a PnP entity with ConfigManagerErrorCode 28 (the virtio NIC without netkvm)", kvm+"drivers/missing-netkvm.txt"),
		"windows.drivers.agent": f("the QEMU guest agent or the balloon service is stopped",
			"Get-Service QEMU-GA and BalloonService Stopped", kvm+"drivers/stopped-balloon.txt"),
		"windows.clock.w32time": f("the Windows Time service is stopped: nothing keeps the clock in step",
			"Get-Service w32time Stopped (w32tm answering 0x80070426)", kvm+"clock/w32time-stopped.txt"),
		"windows.clock.source": f("w32time has no real source (free-running or the local CMOS clock) or the wrong one",
			"w32tm /query /source answering Free-running System Clock; the service stopped; Local CMOS Clock on Hyper-V",
			kvm+"clock/free-running.txt", kvm+"clock/w32time-stopped.txt", hv+"hyperv/ic-stopped.txt"),
		"windows.clock.sync-status": f("w32time has never synchronised",
			"w32tm /query /status with Leap Indicator 3, Stratum 0, Last Successful Sync Time unspecified; the service stopped",
			kvm+"clock/free-running.txt", kvm+"clock/w32time-stopped.txt"),
		"windows.clock.offset": f("the guest clock is off from the controller's", "a guest clock 300 s ahead", kvm+"clock/skewed.txt"),
		"windows.clock.drift":  f("the guest clock runs at the wrong rate", "a guest clock that gains 1 s over the 120 s window", kvm+"clock/drifting.txt"),
		"windows.clock.after-pause": f("the clock is not corrected after the host pauses and resumes the guest",
			"a guest clock 600 s behind after resume, never corrected", kvm+"clock/stuck-after-pause.txt"),
		"windows.clock.after-restore": f("the clock is not corrected after a host save and restore",
			"a guest clock 600 s behind after restore, never corrected", kvm+"clock/stuck-after-pause.txt"),
		"windows.network.link": f("the NIC is down, has no driver, or has no usable IPv4 address (DHCP failed)",
			"Status Disconnected; only an APIPA address; no adapter at all (netkvm missing)",
			kvm+"network/link-down.txt", kvm+"network/apipa.txt", kvm+"drivers/missing-netkvm.txt"),
		"windows.network.mtu":          f("the NIC's MTU differs from the network's", "MtuSize 1400 where the profile says 1500", kvm+"network/mtu-1400.txt"),
		"windows.network.offloads":     f("checksum offload or LSO is off: every packet costs CPU", "TcpIPv4Enabled Disabled and LSO IPv4Enabled False", kvm+"network/offloads-off.txt"),
		"windows.network.reachability": f("the guest cannot reach the controller (or the peer)", "10 pings, none answered", kvm+"network/unreachable.txt"),
		"windows.disk.driver":          f("the boot disk is on an emulated controller, not the paravirtual one", "the boot disk on emulated SATA (storahci), no viostor", kvm+"disk/emulated-sata.txt"),
		"windows.disk.state":           f("the boot disk is read-only or offline", "Get-Disk IsReadOnly True", kvm+"disk/read-only.txt"),
		"windows.disk.integrity": f("the disk loses or corrupts data, or refuses writes",
			"hashes that differ after read-back; 'The media is write protected.' on write", kvm+"disk/corrupt.txt", kvm+"disk/read-only.txt"),
		"windows.disk.trim": f("freed blocks are never unmapped on the host (TRIM off, or unmap not reaching the disk)",
			"DisableDeleteNotify = 1; Optimize-Volume -ReTrim failing with 0x8900002A", kvm+"disk/trim-disabled.txt", kvm+"disk/trim-unsupported.txt"),
		"windows.disk.throughput": f("the disk is far slower than the platform delivers (emulated, throttled or misconfigured cache)",
			"10 MB/s write and 20 MB/s read where the profile wants 100 and 200", kvm+"disk/slow.txt"),
		"windows.events.bugcheck": f("Windows crashed (bugcheck) since boot", "a BugCheck 1001 event (0xD1) after the boot", kvm+"events/bugcheck.txt"),
		"windows.events.unexpected-shutdown": f("Windows went down uncleanly (crash or power loss) before this boot",
			"Kernel-Power 41 and EventLog 6008 after the boot", kvm+"events/power-loss.txt", kvm+"events/bugcheck.txt"),
		"windows.events.disk-errors": f("the storage stack logged errors or timeouts", "disk 153 (I/O retried) and storport 129 (reset)", kvm+"events/disk-153.txt"),
		"windows.hyperv.heartbeat":   f("the Hyper-V heartbeat service is stopped in the guest", "Get-Service vmicheartbeat Stopped", hv+"hyperv/ic-stopped.txt"),
		"windows.hyperv.kvp":         f("the Hyper-V data exchange (KVP) service is stopped in the guest", "Get-Service vmickvpexchange Stopped", hv+"hyperv/ic-stopped.txt"),
		"windows.hyperv.timesync":    f("the Hyper-V time synchronization service is stopped in the guest", "Get-Service vmictimesync Stopped", hv+"hyperv/ic-stopped.txt"),
		"windows.hyperv.vss":         f("the Hyper-V VSS requestor is stopped: backups are not application-consistent", "Get-Service vmicvss Stopped", hv+"hyperv/ic-stopped.txt"),
		"windows.lifecycle.reboot":   f("a reboot requested in the guest never happens", "the boot identity (Kernel-General event 12) unchanged after shutdown.exe /r", kvm+"lifecycle/no-reboot.txt"),
		"windows.lifecycle.pause-resume": f("the guest does not survive a host pause/resume (it rebooted, or its disk refuses writes)",
			"a new boot identity (another Kernel-General event 12) after resume; a write refused after resume", kvm+"lifecycle/rebooted-on-resume.txt", kvm+"lifecycle/read-only-after-resume.txt"),
		"windows.lifecycle.save-restore": f("the guest does not survive a host save/restore", "a new boot identity (another Kernel-General event 12) after restore", kvm+"lifecycle/rebooted-on-resume.txt"),
		"windows.lifecycle.shutdown":     f("Windows ignores the host's graceful shutdown (ACPI power button)", "a replayed guest that ignores PowerShutdown", "IgnoreShutdown"),
	})
}
