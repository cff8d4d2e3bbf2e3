package libvirt

import (
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/virtcert/virtcert/drivers"
)

// runningConfig reads a live domain definition: <memory> (the memory the
// guest was started with, the balloon's ceiling), <vcpu> (current vCPUs
// when set) and each <interface>'s <model type>.
func runningConfig(d *libvirtxml.Domain) drivers.GuestConfig {
	var c drivers.GuestConfig
	if d.Memory != nil {
		c.MemoryMB = int(toKiB(d.Memory.Value, d.Memory.Unit) / 1024)
	}
	if d.VCPU != nil {
		c.CPUs = int(d.VCPU.Value)
		if d.VCPU.Current > 0 {
			c.CPUs = int(d.VCPU.Current)
		}
	}
	if d.Devices != nil {
		c.NICModels = []string{}
		for _, nic := range d.Devices.Interfaces {
			m := ""
			if nic.Model != nil {
				m = nic.Model.Type
			}
			c.NICModels = append(c.NICModels, m)
		}
	}
	return c
}

// toKiB converts a libvirt memory value to KiB (libvirt's default unit).
func toKiB(v uint, unit string) uint64 {
	n := uint64(v)
	switch strings.ToLower(unit) {
	case "b", "bytes":
		return n / 1024
	case "kb":
		return n * 1000 / 1024
	case "", "k", "kib":
		return n
	case "mb":
		return n * 1000 * 1000 / 1024
	case "m", "mib":
		return n * 1024
	case "gb":
		return n * 1000 * 1000 * 1000 / 1024
	case "g", "gib":
		return n * 1024 * 1024
	case "t", "tib":
		return n * 1024 * 1024 * 1024
	}
	return n
}
