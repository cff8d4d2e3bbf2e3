package hyperv

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/virtcert/virtcert/drivers"
)

var (
	_ drivers.Guest         = (*Guest)(nil)
	_ drivers.DiskHotplug   = (*Guest)(nil)
	_ drivers.LinkControl   = (*Guest)(nil)
	_ drivers.SaveRestore   = (*Guest)(nil)
	_ drivers.PauseResume   = (*Guest)(nil)
	_ drivers.MACs          = (*Guest)(nil)
	_ drivers.RunningConfig = (*Guest)(nil)
	_ Checkpoints           = (*Guest)(nil)
	_ IntegrationServices   = (*Guest)(nil)
	_ Heartbeat             = (*Guest)(nil)
	_ KVP                   = (*Guest)(nil)
	_ CopyFile              = (*Guest)(nil)
)

// Guest is a VM the driver created.
type Guest struct {
	h     *Host
	name  string
	label string
	vhd   string
	seed  string
	gen   string
	disks int
	taken map[string]string // checkpoint -> "Running"/"Off" when taken (under h.mu)
}

var nameRE = labelRE

// Provision creates the VM on a differencing disk, attaches the seed and
// starts it. On failure everything already created is removed.
func (h *Host) Provision(ctx context.Context, spec drivers.GuestSpec) (drivers.Guest, error) {
	op := "hyperv provision " + spec.Name
	if !nameRE.MatchString(spec.Name) {
		return nil, drivers.Errorf(drivers.ClassInput, op, "guest name %q: use letters, digits, '.', '_' and '-' only", spec.Name)
	}
	if !labelRE.MatchString(spec.RunLabel) {
		return nil, drivers.Errorf(drivers.ClassInput, op, "run label %q: use letters, digits, '.', '_' and '-' only", spec.RunLabel)
	}
	if spec.MemoryMB < 32 || spec.CPUs < 1 {
		return nil, drivers.Errorf(drivers.ClassInput, op, "memory %d MiB and %d CPUs: Hyper-V needs at least 32 MiB and 1 CPU", spec.MemoryMB, spec.CPUs)
	}
	if spec.Image.Path == "" {
		return nil, drivers.Errorf(drivers.ClassInput, op, "image path is empty: name the parent VHDX on the host")
	}
	if f := strings.ToLower(spec.Image.Format); f != "" && f != "vhdx" && f != "vhd" {
		return nil, drivers.Errorf(drivers.ClassInput, op, "image format %q: Hyper-V needs a VHDX (or VHD) parent image", spec.Image.Format)
	}
	if spec.Image.Kernel != "" {
		return nil, drivers.Errorf(drivers.ClassInput, op, "Hyper-V cannot boot a kernel directly: use a bootable VHDX image")
	}
	if err := safeHostPath(spec.Image.Path); err != nil {
		return nil, drivers.Wrap(drivers.ClassInput, op+": image path", err)
	}
	gen, secure, err := h.firmware(spec)
	if err != nil {
		return nil, drivers.Wrap(drivers.ClassInput, op, err)
	}
	for k := range spec.Extra {
		if k != "generation" && k != "secure_boot" {
			return nil, drivers.Errorf(drivers.ClassInput, op, "unknown guest option %q (known: generation, secure_boot)", k)
		}
	}
	g := &Guest{h: h, name: spec.Name, label: spec.RunLabel, gen: gen, vhd: hostJoin(h.opts.VhdDir, spec.Name+".vhdx")}
	args := []Arg{
		{Name: "Name", Value: spec.Name},
		{Name: "ParentPath", Value: spec.Image.Path},
		{Name: "VhdPath", Value: g.vhd},
		{Name: "Generation", Value: gen},
		{Name: "MemoryMB", Value: strconv.Itoa(spec.MemoryMB)},
		{Name: "CPUs", Value: strconv.Itoa(spec.CPUs)},
		{Name: "SwitchName", Value: h.opts.Switch},
		{Name: "SecureBoot", Value: secure},
		{Name: "RunLabel", Value: spec.RunLabel},
		{Name: "Created", Value: time.Now().UTC().Format(time.RFC3339)},
	}
	if spec.Image.OS == "windows" {
		// Windows' boot manager is signed under Microsoft's Windows
		// PCA, which only the MicrosoftWindows template trusts (the
		// UEFI CA template is for Linux shims).
		args = append(args, Arg{Name: "SecureBootTemplate", Value: "MicrosoftWindows"})
	}
	if spec.Seed != nil {
		g.seed = hostJoin(h.opts.VhdDir, spec.Name+"-seed.iso")
		if err := h.putFileVerified(ctx, spec.Seed, g.seed); err != nil {
			g.rollback()
			return nil, drivers.Wrap(drivers.ClassHost, op+": upload seed", err)
		}
		args = append(args, Arg{Name: "SeedPath", Value: g.seed})
	}
	var out provisionOut
	if err := h.run(ctx, op, "provision.ps1", args, &out); err != nil {
		g.rollback()
		return nil, err
	}
	return g, nil
}

// rollback removes whatever a failed Provision left, with a fresh
// context: the caller's may be the one that expired.
func (g *Guest) rollback() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_ = g.Destroy(ctx, 0)
}

func (h *Host) firmware(spec drivers.GuestSpec) (gen, secure string, err error) {
	gen = spec.Extra["generation"]
	if gen == "" {
		gen = h.opts.Generation
	}
	if gen == "" {
		gen = "2"
		if spec.Image.Firmware == "bios" {
			gen = "1"
		}
	}
	if gen != "1" && gen != "2" {
		return "", "", fmt.Errorf("generation %q: must be 1 or 2", gen)
	}
	if gen == "1" && spec.Image.Firmware == "uefi" {
		return "", "", fmt.Errorf("a uefi image needs generation 2")
	}
	secure = strings.ToLower(spec.Extra["secure_boot"])
	if secure == "" {
		secure = h.opts.SecureBoot
	}
	if secure == "" {
		secure = "on"
	}
	if secure != "on" && secure != "off" {
		return "", "", fmt.Errorf("secure_boot %q: must be on or off", secure)
	}
	return gen, map[string]string{"on": "On", "off": "Off"}[secure], nil
}

// Name is the VM name.
func (g *Guest) Name() string { return g.name }

// Generation is "1" or "2".
func (g *Guest) Generation() string { return g.gen }

func (g *Guest) query(ctx context.Context, addresses bool) (queryOut, error) {
	args := []Arg{{Name: "Name", Value: g.name}}
	if addresses {
		args = append(args, Arg{Name: "Kvp", Switch: true}, Arg{Name: "Neighbors", Switch: true})
	}
	var q queryOut
	err := g.h.run(ctx, "hyperv query "+g.name, "query.ps1", args, &q)
	return q, err
}

// Address waits for the guest's IPv4 address. The guest's KVP daemon is
// preferred (the addresses Hyper-V learned through the network adapter,
// then the guest's KVP items); a guest without one (stock cloud images
// lack hyperv-daemons) is found by its NIC's MAC in the host's neighbour
// cache on the switch's interface. When neither answers the error says
// why.
func (g *Guest) Address(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, g.h.opts.AddressTimeout)
	defer cancel()
	var last queryOut
	for {
		q, err := g.query(ctx, true)
		if err != nil {
			if ctx.Err() != nil && last.Exists {
				return "", g.noAddress(last)
			}
			return "", err
		}
		if !q.Exists {
			return "", drivers.Errorf(drivers.ClassGuest, "hyperv address "+g.name, "%v", errGone)
		}
		last = q
		if ip, src := pickIPv4(q); ip != "" {
			slog.Debug("hyperv: guest address", "guest", g.name, "ip", ip, "source", src)
			return ip, nil
		}
		select {
		case <-ctx.Done():
			return "", g.noAddress(last)
		case <-time.After(2 * time.Second):
		}
	}
}

// pickIPv4 returns the first usable IPv4 address and where it came from:
// "kvp" (adapter addresses or KVP items) before "neighbor".
func pickIPv4(q queryOut) (string, string) {
	var kvp, near []string
	for _, n := range q.NetworkAdapters {
		kvp = append(kvp, n.IPAddresses...)
		near = append(near, n.NeighborAddresses...)
	}
	kvp = append(kvp, strings.Split(q.Kvp["NetworkAddressIPv4"], ";")...)
	for _, src := range []struct {
		name  string
		cands []string
	}{{"kvp", kvp}, {"neighbor", near}} {
		for _, c := range src.cands {
			ip := net.ParseIP(strings.TrimSpace(c))
			if ip != nil && ip.To4() != nil && !ip.IsLinkLocalUnicast() && !ip.IsLoopback() && !ip.IsUnspecified() {
				return ip.String(), src.name
			}
		}
	}
	return "", ""
}

// noAddress explains why no address came back.
func (g *Guest) noAddress(q queryOut) error {
	op := "hyperv address " + g.name
	if q.State != "Running" {
		return drivers.Errorf(drivers.ClassGuest, op, "VM is %s, not Running", q.State)
	}
	var kvp *IntegrationService
	for i, s := range q.IntegrationServices {
		if s.Is(ServiceKVP) {
			kvp = &q.IntegrationServices[i]
		}
	}
	switch {
	case kvp == nil:
		return drivers.Errorf(drivers.ClassGuest, op, "no address: the VM has no Key-Value Pair Exchange integration service")
	case !kvp.Enabled:
		return drivers.Errorf(drivers.ClassGuest, op, "no address: the Key-Value Pair Exchange integration service is disabled on the VM")
	case !kvp.StatusOK():
		return drivers.Errorf(drivers.ClassGuest, op, "no address: the guest never answered on KVP (status %q, heartbeat %q): integration services are missing or not running in the guest (Linux: hv_utils and hv_kvp_daemon from hyperv-daemons), and the host's neighbour cache on switch %q has no IPv4 entry for its MAC %s", kvp.PrimaryStatusDescription, q.Heartbeat, g.h.opts.Switch, macs(q))
	}
	return drivers.Errorf(drivers.ClassGuest, op, "no address: KVP works but the guest reported no IPv4 address (no DHCP lease on switch %q?)", g.h.opts.Switch)
}

func macs(q queryOut) string {
	var m []string
	for _, n := range q.NetworkAdapters {
		m = append(m, n.MacAddress)
	}
	if len(m) == 0 {
		return "(no NIC)"
	}
	return strings.Join(m, ", ")
}

// State reports the power state.
func (g *Guest) State(ctx context.Context) (drivers.PowerState, error) {
	if w, ok := g.h.ex.(wmiQuerier); ok {
		s, err := w.VMState(ctx, g.name)
		if err != nil {
			return drivers.StateUnknown, drivers.Wrap(drivers.ClassHost, "hyperv state "+g.name, err)
		}
		if s == "" {
			return drivers.StateNotFound, nil
		}
		return mapState(s), nil
	}
	q, err := g.query(ctx, false)
	if err != nil {
		return drivers.StateUnknown, err
	}
	if !q.Exists {
		return drivers.StateNotFound, nil
	}
	return mapState(q.State), nil
}

func mapState(s string) drivers.PowerState {
	switch s {
	case "Running", "RunningCritical", "Stopping", "Saving", "Pausing", "Resuming", "Reset":
		return drivers.StateRunning
	case "Off", "OffCritical", "Starting":
		if s == "Starting" {
			return drivers.StateRunning
		}
		return drivers.StateOff
	case "Saved", "SavedCritical", "FastSaved", "FastSavedCritical":
		return drivers.StateSaved
	case "Paused", "PausedCritical":
		return drivers.StatePaused
	}
	return drivers.StateUnknown
}

func (g *Guest) power(ctx context.Context, op string) error {
	args := []Arg{{Name: "Name", Value: g.name}, {Name: "Op", Value: op}}
	if dl, ok := ctx.Deadline(); ok {
		secs := int(time.Until(dl).Seconds()) - 5
		args = append(args, Arg{Name: "TimeoutSeconds", Value: strconv.Itoa(max(1, min(secs, 3600)))})
	}
	var out powerOut
	return g.h.run(ctx, "hyperv power "+op+" "+g.name, "power.ps1", args, &out)
}

// Power performs a power operation.
func (g *Guest) Power(ctx context.Context, op drivers.PowerOp) error {
	m := map[drivers.PowerOp]string{
		drivers.PowerStart: "Start", drivers.PowerShutdown: "Shutdown", drivers.PowerOff: "TurnOff",
		drivers.PowerReboot: "Reboot", drivers.PowerReset: "Reset",
	}
	ps, ok := m[op]
	if !ok {
		return drivers.Errorf(drivers.ClassInput, "hyperv power", "unknown power operation %q", op)
	}
	return g.power(ctx, ps)
}

// Console: Hyper-V exposes the serial port only as a named pipe on the
// host, which WinRM cannot stream.
func (g *Guest) Console(ctx context.Context) ([]byte, error) {
	return nil, drivers.Wrap(drivers.ClassHost, "hyperv console", drivers.ErrUnsupported)
}

// Destroy stops the VM (gracefully within grace, then turn-off) and removes
// it with its disks and seed. Idempotent.
func (g *Guest) Destroy(ctx context.Context, grace time.Duration) error {
	args := []Arg{{Name: "Name", Value: g.name}, {Name: "GraceSeconds", Value: strconv.Itoa(max(0, min(int(grace.Seconds()), 3600)))}}
	if g.seed != "" {
		args = append(args, Arg{Name: "SeedPath", Value: g.seed})
	}
	var out List[removedOut]
	return g.h.run(ctx, "hyperv destroy "+g.name, "remove.ps1", args, &out)
}

// Save saves the VM's memory (Save-VM).
func (g *Guest) Save(ctx context.Context) error { return g.power(ctx, "Save") }

// Restore starts a saved VM from its saved state.
func (g *Guest) Restore(ctx context.Context) error { return g.power(ctx, "Start") }

// Pause suspends the VM's vCPUs (Suspend-VM).
func (g *Guest) Pause(ctx context.Context) error { return g.power(ctx, "Suspend") }

// Resume resumes a paused VM.
func (g *Guest) Resume(ctx context.Context) error { return g.power(ctx, "Resume") }

// MACs lists the NICs' MAC addresses (aa:bb:cc:dd:ee:ff).
func (g *Guest) MACs(ctx context.Context) ([]string, error) {
	q, err := g.query(ctx, false)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range q.NetworkAdapters {
		m := strings.ToLower(strings.ReplaceAll(n.MacAddress, "-", ""))
		if len(m) == 12 {
			m = m[0:2] + ":" + m[2:4] + ":" + m[4:6] + ":" + m[6:8] + ":" + m[8:10] + ":" + m[10:12]
		}
		out = append(out, m)
	}
	return out, nil
}

// AttachDisk hot-adds a blank dynamic VHDX on SCSI controller 0.
func (g *Guest) AttachDisk(ctx context.Context, sizeMB int) (drivers.DiskRef, error) {
	g.h.mu.Lock()
	g.disks++
	path := hostJoin(g.h.opts.VhdDir, fmt.Sprintf("%s-disk-%d.vhdx", g.name, g.disks))
	g.h.mu.Unlock()
	var out diskOut
	err := g.h.run(ctx, "hyperv attach disk "+g.name, "disk.ps1", []Arg{
		{Name: "Name", Value: g.name}, {Name: "Op", Value: "Add"}, {Name: "Path", Value: path}, {Name: "SizeMB", Value: strconv.Itoa(sizeMB)},
	}, &out)
	if err != nil {
		return drivers.DiskRef{}, err
	}
	// Hyper-V sets no disk serial the guest can see; the guest finds the
	// disk by its SCSI address (0:0:<location>).
	return drivers.DiskRef{ID: out.Path, SizeMB: sizeMB}, nil
}

// DetachDisk hot-removes a disk added by AttachDisk and deletes it.
func (g *Guest) DetachDisk(ctx context.Context, ref drivers.DiskRef) error {
	var out diskOut
	return g.h.run(ctx, "hyperv detach disk "+g.name, "disk.ps1", []Arg{
		{Name: "Name", Value: g.name}, {Name: "Op", Value: "Remove"}, {Name: "Path", Value: ref.ID},
	}, &out)
}

// SetLink connects (up) or disconnects (down) NIC nic from the switch.
func (g *Guest) SetLink(ctx context.Context, nic int, up bool) error {
	st := "Down"
	if up {
		st = "Up"
	}
	return g.h.run(ctx, "hyperv link "+g.name, "link.ps1", []Arg{
		{Name: "Name", Value: g.name}, {Name: "Index", Value: strconv.Itoa(nic)}, {Name: "State", Value: st}, {Name: "SwitchName", Value: g.h.opts.Switch},
	}, nil)
}

// RunningConfig reports the VM's startup memory and vCPUs from Get-VM.
// Hyper-V does not name a NIC model (NICModels is nil).
func (g *Guest) RunningConfig(ctx context.Context) (drivers.GuestConfig, error) {
	q, err := g.query(ctx, false)
	if err != nil {
		return drivers.GuestConfig{}, err
	}
	if !q.Exists {
		return drivers.GuestConfig{}, drivers.Errorf(drivers.ClassGuest, "hyperv running config "+g.name, "%v", errGone)
	}
	return drivers.GuestConfig{MemoryMB: q.MemoryStartupMB, CPUs: q.ProcessorCount}, nil
}

func (g *Guest) String() string { return "hyperv guest " + g.name + " (run " + g.label + ")" }
