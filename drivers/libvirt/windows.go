package libvirt

import "libvirt.org/go/libvirtxml"

// Windows guests get what virt-install and the virtio-win guide give
// them: the clock's offset as the image expects (Windows keeps local time
// in the RTC unless told RealTimeIsUniversal), RTC catch-up and a delayed
// PIT so that a descheduled guest does not lose time, no HPET, and on KVM
// the Hyper-V enlightenments Windows uses when it finds them (relaxed
// timing, virtual APIC, spinlock hints, synthetic timers, the reference
// TSC page through hypervclock). Under TCG (domain type qemu) QEMU offers
// no enlightenments, so none are asked for.

// clockXML is the domain's clock for p: the offset ("utc" unless the
// image says localtime), and for Windows guests its timers.
func clockXML(p domainParams) *libvirtxml.DomainClock {
	c := &libvirtxml.DomainClock{Offset: "utc"}
	if p.RTC == "localtime" {
		c.Offset = "localtime"
	}
	if p.OS != "windows" {
		return c
	}
	c.Timer = []libvirtxml.DomainTimer{
		{Name: "rtc", TickPolicy: "catchup"},
		{Name: "pit", TickPolicy: "delay"},
		{Name: "hpet", Present: "no"},
	}
	if p.Type == "kvm" {
		c.Timer = append(c.Timer, libvirtxml.DomainTimer{Name: "hypervclock", Present: "yes"})
	}
	return c
}

// hypervXML is the Hyper-V enlightenments of a Windows guest on KVM; nil
// for other guests and under TCG.
func hypervXML(p domainParams) *libvirtxml.DomainFeatureHyperV {
	if p.OS != "windows" || p.Type != "kvm" {
		return nil
	}
	on := func() *libvirtxml.DomainFeatureState { return &libvirtxml.DomainFeatureState{State: "on"} }
	return &libvirtxml.DomainFeatureHyperV{
		Mode:        "custom",
		Relaxed:     on(),
		VAPIC:       on(),
		Spinlocks:   &libvirtxml.DomainFeatureHyperVSpinlocks{DomainFeatureState: libvirtxml.DomainFeatureState{State: "on"}, Retries: 8191},
		VPIndex:     on(),
		Runtime:     on(),
		Synic:       on(),
		STimer:      &libvirtxml.DomainFeatureHyperVSTimer{DomainFeatureState: libvirtxml.DomainFeatureState{State: "on"}},
		Reset:       on(),
		Frequencies: on(),
	}
}

// defaultSeedBus is where the seed's CD-ROM goes unless the spec says:
// virtio-scsi for Linux; SATA (AHCI, in the box) for Windows, so that
// cloudbase-init finds its config drive whether or not the image carries
// vioscsi.
func defaultSeedBus(guestOS string) string {
	if guestOS == "windows" {
		return "sata"
	}
	return "scsi"
}
