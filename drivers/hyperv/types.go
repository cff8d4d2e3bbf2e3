package hyperv

import "strings"

// Typed outputs of the scripts (see scripts/*.ps1).

type infoOut struct {
	ComputerName        string
	OSCaption           string
	OSVersion           string
	OSBuild             string
	HyperVModule        string
	VirtualHardDiskPath string
	Switches            List[string]
	Nature              string
	Notes               List[string]
}

type hashOut struct {
	Name   string
	Length int64
	SHA256 string
}

type provisionOut struct {
	Name    string
	Id      string
	VhdPath string
	State   string
}

// NetworkAdapter is a VM NIC as Get-VMNetworkAdapter reports it.
type NetworkAdapter struct {
	Name        string
	MacAddress  string
	SwitchName  string
	Connected   bool
	IPAddresses List[string]
	// NeighborAddresses are the IPv4 addresses the host's neighbour cache
	// holds for the NIC's MAC on the switch's host interface (query.ps1
	// -Neighbors; only when Hyper-V learned none through KVP).
	NeighborAddresses List[string]
}

// IntegrationService is one Get-VMIntegrationService row.
type IntegrationService struct {
	Id                         string // "Microsoft:<VM id>\<service GUID>"
	Name                       string // display name, localised by Windows
	Enabled                    bool
	PrimaryStatus              string // PrimaryOperationalStatus enum name: "Ok", "NoContact", "LostCommunication"
	PrimaryStatusDescription   string // localised text of the same: "OK", "No Contact"
	SecondaryStatusDescription string
}

// Integration service Id GUIDs (VMIntegrationComponent.Id ends with one;
// the names are localised, the GUIDs are not).
const (
	ServiceGuestInterface = "6C09BB55-D683-4DA0-8931-C9BF705F6480"
	ServiceKVP            = "2A34B1C2-FD73-4043-8A5B-DD2159BC743F"
)

// serviceGUIDs maps the services' English display names (virtcert's
// canonical names for them) to their Id GUIDs.
var serviceGUIDs = map[string]string{
	"Guest Service Interface": ServiceGuestInterface, "Heartbeat": "84EAAE65-2F2E-45F5-9BB5-0E857DC8EB47",
	"Key-Value Pair Exchange": ServiceKVP, "Shutdown": "9F8233AC-BE49-4C79-8EE3-E7E1985B2077",
	"Time Synchronization": "2497F4DE-E9FA-4204-80E4-4B75C46419C0", "VSS": "5CED1297-4598-4915-A5FC-AD21BB4D02A4",
}

// Canonical is the service's English name, found by its Id GUID whatever
// the host's language; a service without a known Id keeps its own name.
func (s IntegrationService) Canonical() string {
	for name, guid := range serviceGUIDs {
		if s.Is(guid) {
			return name
		}
	}
	return s.Name
}

// StatusOK reports whether the service's primary status is OK: the
// PrimaryOperationalStatus enum name when the host reported it (it is not
// localised), else the description (older transcripts carry only that).
func (s IntegrationService) StatusOK() bool {
	if s.PrimaryStatus != "" {
		return strings.EqualFold(s.PrimaryStatus, "Ok")
	}
	return s.PrimaryStatusDescription == "OK"
}

// Is reports whether the service has the given Id GUID.
func (s IntegrationService) Is(guid string) bool {
	return strings.HasSuffix(strings.ToUpper(s.Id), `\`+guid)
}

type queryOut struct {
	Exists              bool
	Name                string
	Id                  string
	State               string
	Heartbeat           string
	Generation          int
	Notes               string
	Uptime              int
	MemoryStartupMB     int
	ProcessorCount      int
	NetworkAdapters     List[NetworkAdapter]
	IntegrationServices List[IntegrationService]
	Kvp                 map[string]string
}

type powerOut struct {
	Name  string
	State string
}

type removedOut struct {
	Kind     string
	Name     string
	RunLabel string
	Created  string
}

type diskOut struct {
	Path               string
	ControllerNumber   int
	ControllerLocation int
}

// Checkpoint is a VM checkpoint.
type Checkpoint struct {
	Name    string
	Created string
}
