package hyperv

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
	Name                       string
	Enabled                    bool
	PrimaryStatusDescription   string // "OK", "No Contact", "Lost Communication"
	SecondaryStatusDescription string
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
