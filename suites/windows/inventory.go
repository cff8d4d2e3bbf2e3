package windows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
	"weak"

	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
)

// inventoryMarker opens the inventory script; transcripts match on it.
const inventoryMarker = "# virtcert: windows inventory (read-only)"

// probeInventory gathers every read-only fact the inventory checks judge,
// in one PowerShell round trip, as one JSON document. Enums are cast to
// [string] (Windows PowerShell 5.1 serialises them as numbers) and every
// collection is wrapped in @() (a single object is otherwise not an
// array); the Go side still accepts a bare object, null and 5.1's
// {"value":[...],"Count":n} shape (list.UnmarshalJSON).
const probeInventory = inventoryMarker + `
$ErrorActionPreference = 'SilentlyContinue'
$os = Get-CimInstance Win32_OperatingSystem
$boot = $os.LastBootUpTime
$doc = [ordered]@{}
$doc.boot = $boot.ToUniversalTime().ToString('o')
$doc.cs = Get-CimInstance Win32_ComputerSystem | Select-Object HypervisorPresent, Manufacturer, Model
$doc.firmware = [string]$env:firmware_type
$doc.secureBoot = try { if (Confirm-SecureBootUEFI -ErrorAction Stop) { 'on' } else { 'off' } } catch { 'unsupported: ' + $_.Exception.Message }
$doc.devices = @(Get-CimInstance Win32_PnPEntity | Select-Object Name, PNPDeviceID, Service, ConfigManagerErrorCode)
$doc.signed = @(Get-CimInstance Win32_PnPSignedDriver | Where-Object { $_.DeviceID } | Select-Object DeviceID, DeviceName, InfName, IsSigned, Signer, DriverVersion)
$doc.sysdrivers = @(Get-CimInstance Win32_SystemDriver | Select-Object Name, State, StartMode)
$doc.services = @(Get-Service -Name w32time, vmicheartbeat, vmickvpexchange, vmictimesync, vmicvss, BalloonService, QEMU-GA | Select-Object Name, @{n='Status';e={[string]$_.Status}}, @{n='StartType';e={[string]$_.StartType}})
$doc.w32tmSource = (w32tm /query /source | Out-String).Trim()
$doc.w32tmStatus = (w32tm /query /status /verbose | Out-String).Trim()
$doc.uiCulture = [string](Get-UICulture).Name
$doc.adapters = @(Get-NetAdapter -Physical | Select-Object Name, InterfaceDescription, @{n='Status';e={[string]$_.Status}}, MtuSize, DriverFileName)
$doc.ipv4 = @(Get-NetIPAddress -AddressFamily IPv4 | Where-Object { $_.InterfaceAlias -notlike 'Loopback*' } | Select-Object InterfaceAlias, IPAddress, @{n='PrefixOrigin';e={[string]$_.PrefixOrigin}})
$doc.checksum = @(Get-NetAdapterChecksumOffload | Select-Object Name, @{n='TcpIPv4Enabled';e={[string]$_.TcpIPv4Enabled}}, @{n='UdpIPv4Enabled';e={[string]$_.UdpIPv4Enabled}})
$doc.lso = @(Get-NetAdapterLso | Select-Object Name, IPv4Enabled)
$doc.disks = @(Get-Disk | Select-Object Number, FriendlyName, @{n='BusType';e={[string]$_.BusType}}, IsBoot, IsSystem, IsReadOnly, IsOffline, @{n='OperationalStatus';e={[string]$_.OperationalStatus}})
$since = @{ LogName = 'System'; StartTime = $boot }
$ev = @(Get-WinEvent -FilterHashtable ($since + @{ Id = 41, 1001, 6008 }))
foreach ($p in 'disk', 'storport', 'Ntfs', 'Microsoft-Windows-Ntfs', 'viostor', 'vioscsi', 'storvsc', 'volmgr') { $ev += @(Get-WinEvent -FilterHashtable ($since + @{ ProviderName = $p; Level = 1, 2, 3 })) }
$doc.events = @($ev | Where-Object { $_ } | Select-Object Id, ProviderName, LevelDisplayName, @{n='TimeCreated';e={$_.TimeCreated.ToUniversalTime().ToString('o')}}, @{n='Message';e={([string]$_.Message).Split([char]10)[0]}})
$doc | ConvertTo-Json -Depth 4 -Compress`

// Inventory is the inventory script's document.
type Inventory struct {
	Boot string `json:"boot"`
	// CS is nil when the document says null: Win32_ComputerSystem
	// returned nothing (the script runs with SilentlyContinue), which is
	// the harness's failure to read the guest, never the guest's fault.
	CS          *ComputerSystem    `json:"cs"`
	Firmware    string             `json:"firmware"`
	SecureBoot  string             `json:"secureBoot"`
	Devices     list[Device]       `json:"devices"`
	Signed      list[SignedDriver] `json:"signed"`
	SysDrivers  list[SysDriver]    `json:"sysdrivers"`
	Services    list[Service]      `json:"services"`
	W32tmSource string             `json:"w32tmSource"`
	W32tmStatus string             `json:"w32tmStatus"`
	// UICulture is the guest's display language (Get-UICulture: en-US,
	// de-DE): w32tm prints its text in it.
	UICulture string          `json:"uiCulture"`
	Adapters  list[Adapter]   `json:"adapters"`
	IPv4      list[IPAddress] `json:"ipv4"`
	Checksum  list[Checksum]  `json:"checksum"`
	LSO       list[LSO]       `json:"lso"`
	Disks     list[Disk]      `json:"disks"`
	Events    list[Event]     `json:"events"`
}

// ComputerSystem is a Win32_ComputerSystem.
type ComputerSystem struct {
	HypervisorPresent bool
	Manufacturer      string
	Model             string
}

// Device is a Win32_PnPEntity.
type Device struct {
	Name, PNPDeviceID, Service string
	ConfigManagerErrorCode     int
}

// SignedDriver is a Win32_PnPSignedDriver.
type SignedDriver struct {
	DeviceID, DeviceName, InfName, Signer, DriverVersion string
	IsSigned                                             bool
}

// SysDriver is a Win32_SystemDriver.
type SysDriver struct{ Name, State, StartMode string }

// Service is a Get-Service row (Status and StartType as text).
type Service struct{ Name, Status, StartType string }

// Adapter is a Get-NetAdapter -Physical row.
type Adapter struct {
	Name, InterfaceDescription, Status, DriverFileName string
	MtuSize                                            int
}

// IPAddress is a Get-NetIPAddress row.
type IPAddress struct{ InterfaceAlias, IPAddress, PrefixOrigin string }

// Checksum is a Get-NetAdapterChecksumOffload row.
type Checksum struct{ Name, TcpIPv4Enabled, UdpIPv4Enabled string }

// LSO is a Get-NetAdapterLso row.
type LSO struct {
	Name        string
	IPv4Enabled bool
}

// Disk is a Get-Disk row.
type Disk struct {
	Number                                   int
	FriendlyName, BusType, OperationalStatus string
	IsBoot, IsSystem, IsReadOnly, IsOffline  bool
}

// Event is a Get-WinEvent record.
type Event struct {
	Id                                                   int
	ProviderName, LevelDisplayName, TimeCreated, Message string
}

// list decodes a JSON list the way Windows PowerShell 5.1 may write one:
// an array, a single object (a one-item pipeline), null or "" (none), or
// {"value":[...],"Count":n} (an array wrapped in a PSObject).
type list[E any] []E

// UnmarshalJSON implements json.Unmarshaler.
func (l *list[E]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")), bytes.Equal(b, []byte(`""`)):
		*l = nil
		return nil
	case len(b) > 0 && b[0] == '[':
		var xs []E
		err := json.Unmarshal(b, &xs)
		*l = xs
		return err
	}
	var wrapped struct {
		Value *[]E `json:"value"`
		Count *int `json:"Count"`
	}
	if json.Unmarshal(b, &wrapped) == nil && wrapped.Value != nil && wrapped.Count != nil {
		*l = *wrapped.Value
		return nil
	}
	var x E
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*l = list[E]{x}
	return nil
}

// ParseInventory decodes the inventory document (the last JSON line of
// the output: PowerShell may print warnings before it).
func ParseInventory(out string) (*Inventory, error) {
	line := lastJSON(out)
	if line == "" {
		return nil, fmt.Errorf("no JSON document in the output")
	}
	var inv Inventory
	if err := json.Unmarshal([]byte(line), &inv); err != nil {
		return nil, fmt.Errorf("inventory JSON: %w", err)
	}
	return &inv, nil
}

func lastJSON(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "{") {
			return l
		}
	}
	return ""
}

// gathered caches one inventory per target (a guest), so the inventory
// checks cost one round trip together. Keys are weak: a finished
// target's entry does not keep it alive. Disruptive checks, which could
// change the answers, run after every inventory check (the runner orders
// them last).
var gathered sync.Map // weak.Pointer[suites.Target] -> *gatherOnce

type gatherOnce struct {
	once sync.Once
	res  transport.Result
	err  error
	at   time.Time
}

// inventory runs the inventory script (once per target) and parses it.
// Each check records the command and its output as its own evidence.
// Unparseable output is an ERROR: the harness could not read the guest.
func inventory(t *suites.T) *Inventory {
	v, _ := gathered.LoadOrStore(weak.Make(t.Target), &gatherOnce{})
	g := v.(*gatherOnce)
	g.once.Do(func() {
		g.at = time.Now()
		g.res, g.err = t.Target.OS.Run(t.Context(), transport.Command{Cmd: probeInventory})
	})
	return judgeable(t, g.res, g.err, "inventory (one read-only PowerShell script per guest, run "+g.at.UTC().Format(time.TimeOnly)+" UTC)")
}

func judgeable(t *suites.T, r transport.Result, err error, step string) *Inventory {
	if step != "" {
		exit := r.Exit
		ev := reports.Evidence{Step: step, Command: probeInventory, Exit: &exit, Output: string(r.Stdout) + string(r.Stderr), Duration: r.Duration}
		if err != nil {
			ev.Exit, ev.Output = nil, err.Error()
		}
		t.Evidence(ev)
		if err != nil {
			gathered.Delete(weak.Make(t.Target)) // let a later check try again
			t.Errorf("inventory: transport: %v", err)
		}
	}
	if r.Exit != 0 {
		t.Errorf("inventory script exited %d: %s", r.Exit, firstLine(string(r.Stderr)))
	}
	inv, perr := ParseInventory(string(r.Stdout))
	if perr != nil {
		t.Errorf("inventory: %v", perr)
	}
	// Every Windows machine has PnP devices: none means the WMI queries
	// failed (the script runs with SilentlyContinue), not a guest fault.
	if len(inv.Devices) == 0 {
		t.Errorf("inventory: no Win32_PnPEntity rows: the guest's WMI queries failed")
	}
	return inv
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// service returns the named service row.
func (inv *Inventory) service(name string) (Service, bool) {
	for _, s := range inv.Services {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return Service{}, false
}
