package drivers

import (
	"fmt"
	"sort"
)

// Capability names, as checks name them in Check.Needs and drivers
// declare them in their registration.
const (
	CapDiskHotplug   = "DiskHotplug"
	CapLinkControl   = "LinkControl"
	CapNICHotplug    = "NICHotplug"
	CapSaveRestore   = "SaveRestore"
	CapPauseResume   = "PauseResume"
	CapGuestClock    = "GuestClock"
	CapGuestTimeSync = "GuestTimeSync"
	CapMACs          = "MACs"
	CapRunningConfig = "RunningConfig"
	// CapHostResources is a host capability (Driver.HostCapabilities).
	CapHostResources = "HostResources"
)

// capabilities maps a capability name to its test on a guest.
var capabilities = map[string]func(any) bool{
	CapDiskHotplug:   is[DiskHotplug],
	CapLinkControl:   is[LinkControl],
	CapNICHotplug:    is[NICHotplug],
	CapSaveRestore:   is[SaveRestore],
	CapPauseResume:   is[PauseResume],
	CapGuestClock:    is[GuestClock],
	CapGuestTimeSync: is[GuestTimeSync],
	CapMACs:          is[MACs],
	CapRunningConfig: is[RunningConfig],
	CapHostResources: is[HostResources],
}

func is[C any](x any) bool {
	_, ok := x.(C)
	return ok
}

// RegisterCapability adds a driver-specific capability (a Hyper-V
// integration service) under name; its interface C lives in the driver's
// package. It panics on a duplicate.
func RegisterCapability[C any](name string) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := capabilities[name]; dup {
		panic("drivers: duplicate capability " + name)
	}
	capabilities[name] = is[C]
}

// HasCapability reports whether guest (or host) g has the named capability; an
// unknown name is an error (a check needing it could never run).
func HasCapability(g any, name string) (bool, error) {
	regMu.Lock()
	test, ok := capabilities[name]
	regMu.Unlock()
	if !ok {
		return false, fmt.Errorf("unknown capability %q", name)
	}
	return test(g), nil
}

// CapabilitiesOf lists the capabilities guest (or host) g has, sorted.
func CapabilitiesOf(g any) []string {
	regMu.Lock()
	defer regMu.Unlock()
	var out []string
	for name, test := range capabilities {
		if test(g) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// KnownCapability reports whether name is a registered capability.
func KnownCapability(name string) bool {
	regMu.Lock()
	defer regMu.Unlock()
	_, ok := capabilities[name]
	return ok
}
