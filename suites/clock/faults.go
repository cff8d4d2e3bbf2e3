package clock

import "github.com/virtcert/virtcert/suites"

// The guest fault each clock check exists to catch, and its proof.
func init() {
	const transcripts = "TestTranscripts" // the test replaying this area's transcripts
	suites.DescribeFaults(map[string]suites.Fault{
		"clock.source": {
			What:   "the guest keeps time on a clocksource the platform does not intend (hpet, acpi_pm, jiffies) instead of its paravirtual clock",
			Made:   "a KVM guest whose kernel found kvm-clock unstable and fell back to hpet",
			Proofs: []suites.Proof{suites.TranscriptProof(transcripts, "kvm/clock/faulty-source.txt")},
		},
		"clock.available": {
			What:   "no usable alternative clocksource: the kernel cannot switch when the current one is found unstable",
			Made:   "a KVM guest whose kvm-clock was found unstable: available_clocksource lists tsc hpet acpi_pm, without kvm-clock",
			Proofs: []suites.Proof{suites.TranscriptProof(transcripts, "kvm/clock/faulty-source.txt")},
		},
		"clock.tsc-flags": {
			What:   "the vCPU lacks constant/nonstop TSC flags: the TSC cannot be trusted as a clock",
			Made:   "a KVM guest whose /proc/cpuinfo has tsc but no constant_tsc",
			Proofs: []suites.Proof{suites.TranscriptProof(transcripts, "kvm/clock/faulty-tsc.txt")},
		},
		"clock.kvmclock-msrs": {
			What:   "kvm-clock never registered its MSRs: the paravirtual clock is not in use",
			Made:   "a KVM guest whose dmesg has no \"kvm-clock: Using msrs\" line",
			Proofs: []suites.Proof{suites.TranscriptProof(transcripts, "kvm/clock/faulty-kvmclock.txt")},
		},
		"clock.hyperv-ptp": {
			What:   "the Hyper-V PTP clock (hv_utils' ptp_hyperv) is missing: chrony has no host time source",
			Made:   "a Hyper-V guest whose /sys/class/ptp has no hyperv clock",
			Proofs: []suites.Proof{suites.TranscriptProof(transcripts, "hyperv-gen2/clock/faulty-ptp.txt")},
		},
		"clock.offset": {
			What:   "the guest clock is off from real time",
			Made:   "tiny guest with virtcert.fault=clockskew=3600 (the clock stepped an hour ahead after boot)",
			Proofs: []suites.Proof{suites.LabProof("TestFault", "clock-stepped"), suites.TranscriptProof(transcripts, "kvm/clock/faulty-skew.txt")},
		},
		"clock.drift": {
			What:   "the guest clock runs at the wrong rate (gains or loses time steadily)",
			Made:   "tiny guest whose kernel tick was lengthened 5% (busybox adjtimex -t 10500): its clock runs 50000 ppm fast",
			Proofs: []suites.Proof{suites.LabProof("TestE2EFaults", "clock-rate"), suites.TranscriptProof(transcripts, "kvm/clock/faulty-drift.txt")},
		},
		"clock.monotonic": {
			What:   "CLOCK_MONOTONIC goes backwards (an unstable TSC across vCPUs)",
			Made:   "a KVM guest whose monotonic samples decrease",
			Proofs: []suites.Proof{suites.TranscriptProof(transcripts, "kvm/clock/faulty-monotonic.txt")},
		},
		"clock.ntp-sync": {
			What:   "the guest's time service is not synchronised (chronyd stopped, or no reachable source)",
			Made:   "a KVM guest with chronyd stopped; one whose chrony reports \"Not synchronised\"",
			Proofs: []suites.Proof{suites.TranscriptProof(transcripts, "kvm/clock/faulty-chrony-stopped.txt"), suites.TranscriptProof(transcripts, "kvm/clock/faulty-unsync.txt")},
		},
		"clock.rtc": {
			What:   "the guest's RTC disagrees with real time (a wrong RTC base or offset from the host)",
			Made:   "a KVM guest whose RTC is kept in local time, two hours east of UTC",
			Proofs: []suites.Proof{suites.TranscriptProof(transcripts, "kvm/clock/faulty-rtc.txt")},
		},
		"clock.after-pause": {
			What:   "the guest clock stays behind after the host pauses and resumes it (nothing sets it back)",
			Made:   "the Debian guest with qemu-guest-agent stopped (the host cannot set the time back), paused and resumed on the lab",
			Proofs: []suites.Proof{suites.LabProof("TestE2EDebian", "clock-after-pause"), suites.TranscriptProof(transcripts, "kvm/clock/faulty-resume.txt")},
		},
		"clock.after-save": {
			What:   "the guest clock stays behind after the host saves and restores it",
			Made:   "a KVM guest whose clock after save/restore is behind by the time it spent saved",
			Proofs: []suites.Proof{suites.TranscriptProof(transcripts, "kvm/clock/faulty-resume.txt")},
		},
	})
}
