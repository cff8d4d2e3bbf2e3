package hyperv

import (
	"fmt"
	"net/url"

	"github.com/virtcert/virtcert/drivers"
)

// Hyper-V's own capability names (Check.Needs).
const (
	CapCheckpoints         = "Checkpoints"
	CapIntegrationServices = "IntegrationServices"
	CapHeartbeat           = "Heartbeat"
	CapKVP                 = "KVP"
	CapCopyFile            = "CopyFile"
)

// Capabilities are what every Hyper-V guest can do (the conformance
// suite holds the driver to them).
var Capabilities = []string{drivers.CapDiskHotplug, drivers.CapLinkControl, drivers.CapSaveRestore, drivers.CapPauseResume, drivers.CapMACs, drivers.CapRunningConfig,
	CapCheckpoints, CapIntegrationServices, CapHeartbeat, CapKVP, CapCopyFile}

func init() {
	drivers.RegisterCapability[Checkpoints](CapCheckpoints)
	drivers.RegisterCapability[IntegrationServices](CapIntegrationServices)
	drivers.RegisterCapability[Heartbeat](CapHeartbeat)
	drivers.RegisterCapability[KVP](CapKVP)
	drivers.RegisterCapability[CopyFile](CapCopyFile)
	drivers.Register(drivers.Driver{Name: "hyperv", Open: Open, CheckURI: CheckURI, DefaultProfile: DefaultProfile, Capabilities: Capabilities,
		Hypervisors: []string{"hyperv"}, HostCapabilities: []string{drivers.CapHostResources}})
}

// DefaultProfile is "hyperv-gen1" for generation: "1", else
// "hyperv-gen2" (the driver's default generation).
func DefaultProfile(_ drivers.HostInfo, options map[string]string) string {
	if options["generation"] == "1" {
		return "hyperv-gen1"
	}
	return "hyperv-gen2"
}

// CheckURI validates a WinRM endpoint URI (never local: the host's paths
// are checked by the host).
func CheckURI(uri string) (bool, error) {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return false, fmt.Errorf("bad Hyper-V URI %q: want https://host:5986/wsman", uri)
	}
	return false, nil
}
