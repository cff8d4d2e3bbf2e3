package hyperv

import (
	"context"
	"io"
	"strconv"

	"github.com/virtcert/virtcert/drivers"
)

// Hyper-V-only capabilities, found by type assertion on a drivers.Guest
// like the common ones in drivers/capabilities.go. The Hyper-V checks
// (suites/hyperv) SKIP with drivers.Need's reason when a guest lacks them.

// Checkpoints manages VM checkpoints (Checkpoint-VM, Restore-VMSnapshot).
type Checkpoints interface {
	CreateCheckpoint(ctx context.Context, name string) error
	RestoreCheckpoint(ctx context.Context, name string) error
	RemoveCheckpoint(ctx context.Context, name string) error
	ListCheckpoints(ctx context.Context) ([]Checkpoint, error)
}

// IntegrationServices lists the VM's integration services and their
// state as the host sees it (Get-VMIntegrationService).
type IntegrationServices interface {
	IntegrationServices(ctx context.Context) ([]IntegrationService, error)
}

// Heartbeat returns the VM's heartbeat status as Get-VM reports it:
// "OkApplicationsHealthy", "OkApplicationsUnknown", "NoContact",
// "LostCommunication", "Paused", "Disabled".
type Heartbeat interface {
	Heartbeat(ctx context.Context) (string, error)
}

// KVP returns the guest's intrinsic key-value pairs as the host reads
// them from Msvm_KvpExchangeComponent.GuestIntrinsicExchangeItems
// (FullyQualifiedDomainName, OSName, OSVersion, NetworkAddressIPv4...).
type KVP interface {
	KVPItems(ctx context.Context) (map[string]string, error)
}

// CopyFile copies a file from the host into the guest through the guest
// service interface (Copy-VMFile; hv_fcopy_daemon in a Linux guest).
type CopyFile interface {
	CopyToGuest(ctx context.Context, r io.Reader, guestPath string) error
}

// CreateCheckpoint creates a standard checkpoint (memory included, set
// explicitly: the host default is a production checkpoint, which restores
// to Off) and remembers the power state it was taken in.
func (g *Guest) CreateCheckpoint(ctx context.Context, name string) error {
	st, err := g.State(ctx)
	if err != nil {
		return err
	}
	if _, err := g.checkpoint(ctx, "Create", name, ""); err != nil {
		return err
	}
	expect := map[drivers.PowerState]string{drivers.StateRunning: "Running", drivers.StateOff: "Off"}[st]
	g.h.mu.Lock()
	defer g.h.mu.Unlock()
	if g.taken == nil {
		g.taken = map[string]string{}
	}
	g.taken[name] = expect
	return nil
}

// RestoreCheckpoint applies a checkpoint and brings the VM back to the
// power state the checkpoint was taken in (a running VM's standard
// checkpoint restores to Saved and is resumed); a VM left otherwise is an
// error.
func (g *Guest) RestoreCheckpoint(ctx context.Context, name string) error {
	g.h.mu.Lock()
	expect := g.taken[name]
	g.h.mu.Unlock()
	_, err := g.checkpoint(ctx, "Restore", name, expect)
	return err
}

// RemoveCheckpoint deletes a checkpoint and waits for Hyper-V's merge of
// its disk.
func (g *Guest) RemoveCheckpoint(ctx context.Context, name string) error {
	if _, err := g.checkpoint(ctx, "Remove", name, ""); err != nil {
		return err
	}
	g.h.mu.Lock()
	delete(g.taken, name)
	g.h.mu.Unlock()
	return nil
}

// ListCheckpoints lists the VM's checkpoints.
func (g *Guest) ListCheckpoints(ctx context.Context) ([]Checkpoint, error) {
	return g.checkpoint(ctx, "List", "", "")
}

func (g *Guest) checkpoint(ctx context.Context, op, name, expect string) ([]Checkpoint, error) {
	args := []Arg{{Name: "Name", Value: g.name}, {Name: "Op", Value: op}}
	if name != "" {
		args = append(args, Arg{Name: "CheckpointName", Value: name})
	}
	if expect != "" {
		args = append(args, Arg{Name: "Expect", Value: expect})
	}
	var out List[Checkpoint]
	err := g.h.run(ctx, "hyperv checkpoint "+op+" "+g.name, "checkpoint.ps1", args, &out)
	return out, err
}

// IntegrationServices implements IntegrationServices.
func (g *Guest) IntegrationServices(ctx context.Context) ([]IntegrationService, error) {
	q, err := g.query(ctx, false)
	if err != nil {
		return nil, err
	}
	if !q.Exists {
		return nil, drivers.Errorf(drivers.ClassGuest, "hyperv integration services "+g.name, "%v", errGone)
	}
	return q.IntegrationServices, nil
}

// Heartbeat implements Heartbeat.
func (g *Guest) Heartbeat(ctx context.Context) (string, error) {
	q, err := g.query(ctx, false)
	if err != nil {
		return "", err
	}
	if !q.Exists {
		return "", drivers.Errorf(drivers.ClassGuest, "hyperv heartbeat "+g.name, "%v", errGone)
	}
	return q.Heartbeat, nil
}

// KVPItems implements KVP.
func (g *Guest) KVPItems(ctx context.Context) (map[string]string, error) {
	if w, ok := g.h.ex.(wmiQuerier); ok {
		m, err := w.KVP(ctx, g.name)
		if err != nil {
			return nil, drivers.Wrap(drivers.ClassHost, "hyperv kvp "+g.name, err)
		}
		return m, nil
	}
	q, err := g.query(ctx, true)
	if err != nil {
		return nil, err
	}
	if !q.Exists {
		return nil, drivers.Errorf(drivers.ClassGuest, "hyperv kvp "+g.name, "%v", errGone)
	}
	if q.Kvp == nil {
		q.Kvp = map[string]string{}
	}
	return q.Kvp, nil
}

// CopyToGuest uploads the data to the host's script directory, then runs
// Copy-VMFile into the guest, and removes the host copy.
func (g *Guest) CopyToGuest(ctx context.Context, r io.Reader, guestPath string) error {
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return drivers.Wrap(drivers.ClassHost, "hyperv copy file", err)
	}
	g.h.mu.Lock()
	g.h.uploads++
	src := hostJoin(g.h.dir, "fcopy-"+strconv.Itoa(g.h.uploads)+".bin")
	g.h.mu.Unlock()
	if err := g.h.putFileVerified(ctx, data, src); err != nil {
		return err
	}
	defer func() {
		if cl, err := DelCommand(src); err == nil {
			_ = g.h.mustExec(context.WithoutCancel(ctx), "hyperv copy file: clean", cl)
		}
	}()
	return g.h.run(ctx, "hyperv copy file "+g.name, "copyfile.ps1", []Arg{
		{Name: "Name", Value: g.name}, {Name: "SourcePath", Value: src}, {Name: "DestinationPath", Value: guestPath},
	}, nil)
}

// wmiQuerier is implemented by the local executor on Windows: KVP items
// come straight from WMI instead of a PowerShell process per poll.
type wmiQuerier interface {
	KVP(ctx context.Context, vm string) (map[string]string, error)
	// VMState returns the Get-VM state name, "" when the VM does not exist.
	VMState(ctx context.Context, vm string) (string, error)
}
