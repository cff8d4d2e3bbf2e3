package libvirt

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtcert/virtcert/drivers"
)

const liveFlag = uint32(golibvirt.DomainAffectLive)

// liveDomain parses the running definition.
func (g *Guest) liveDomain(ctx context.Context, op string) (*libvirtxml.Domain, error) {
	x, err := g.liveXML(ctx, op)
	if err != nil {
		return nil, err
	}
	d, err := unmarshalDomain(x)
	if err != nil {
		return nil, drivers.Wrap(drivers.ClassHost, g.op(op), err)
	}
	if d.Devices == nil {
		d.Devices = &libvirtxml.DomainDeviceList{}
	}
	return d, nil
}

// AttachDisk creates a blank qcow2 volume and attaches it live on virtio
// with a serial the guest sees in /dev/disk/by-id/virtio-<serial>.
func (g *Guest) AttachDisk(ctx context.Context, sizeMB int) (drivers.DiskRef, error) {
	op := "attach disk"
	if sizeMB <= 0 {
		return drivers.DiskRef{}, drivers.Errorf(drivers.ClassInput, g.op(op), "size %d MiB must be positive", sizeMB)
	}
	d, err := g.liveDomain(ctx, op)
	if err != nil {
		return drivers.DiskRef{}, err
	}
	used := map[string]bool{}
	for _, disk := range d.Devices.Disks {
		if disk.Target != nil {
			used[disk.Target.Dev] = true
		}
	}
	target := ""
	for i := 0; i < 26*27; i++ {
		if t := "vd" + diskLetters(i); !used[t] {
			target = t
			break
		}
	}
	n := time.Now().UnixNano() % 1e8
	serial := fmt.Sprintf("vchot%d", n)
	vol := volName(g.label, g.name, fmt.Sprintf("hot%d.qcow2", n))
	g.ownerMu.Lock()
	err = g.h.appendOwner(ctx, &g.owner, vol)
	g.ownerMu.Unlock()
	if err != nil {
		return drivers.DiskRef{}, err
	}
	v, err := g.h.createVol(ctx, g.op(op)+": volume", mustVolXML(vol, "qcow2", uint64(sizeMB)<<20, "", ""), 0)
	if err != nil {
		return drivers.DiskRef{}, err
	}
	x, err := hotDiskXML(g.h.pool, vol, target, serial)
	if err == nil {
		err = do0(ctx, g.h.c, g.op(op), func(l *golibvirt.Libvirt) error {
			return l.DomainAttachDeviceFlags(g.dom, x, liveFlag)
		})
	}
	if err != nil {
		g.h.deleteVolDetached(ctx, v.vol)
		return drivers.DiskRef{}, err
	}
	return drivers.DiskRef{ID: target, Serial: serial, SizeMB: sizeMB}, nil
}

// DetachDisk detaches a disk added by AttachDisk, waits until the guest
// released it, and deletes its volume.
func (g *Guest) DetachDisk(ctx context.Context, ref drivers.DiskRef) error {
	op := "detach disk " + ref.ID
	d, err := g.liveDomain(ctx, op)
	if err != nil {
		return err
	}
	var disk *libvirtxml.DomainDisk
	for i := range d.Devices.Disks {
		if t := d.Devices.Disks[i].Target; t != nil && t.Dev == ref.ID {
			disk = &d.Devices.Disks[i]
		}
	}
	if disk == nil {
		return drivers.Errorf(drivers.ClassInput, g.op(op), "no disk with target %s attached", ref.ID)
	}
	if disk.Serial != ref.Serial || disk.Source == nil || disk.Source.Volume == nil {
		return drivers.Errorf(drivers.ClassInput, g.op(op), "disk %s was not attached by AttachDisk", ref.ID)
	}
	vol := disk.Source.Volume.Volume
	x, err := disk.Marshal()
	if err != nil {
		return drivers.Wrap(drivers.ClassHost, g.op(op), err)
	}
	if err := do0(ctx, g.h.c, g.op(op), func(l *golibvirt.Libvirt) error {
		return l.DomainDetachDeviceFlags(g.dom, x, liveFlag)
	}); err != nil {
		return err
	}
	// Detach is asynchronous: the guest has to let go of the device.
	if err := g.waitGone(ctx, op, func(d *libvirtxml.Domain) bool {
		for _, dk := range d.Devices.Disks {
			if dk.Target != nil && dk.Target.Dev == ref.ID {
				return false
			}
		}
		return true
	}); err != nil {
		return err
	}
	return do0(ctx, g.h.c, g.op(op)+": delete volume", func(l *golibvirt.Libvirt) error {
		p, err := l.StoragePoolLookupByName(g.h.pool)
		if err != nil {
			return err
		}
		v, err := l.StorageVolLookupByName(p, vol)
		if err != nil {
			return err
		}
		return l.StorageVolDelete(v, 0)
	})
}

// waitGone polls the live XML until gone reports true.
func (g *Guest) waitGone(ctx context.Context, op string, gone func(*libvirtxml.Domain) bool) error {
	for {
		d, err := g.liveDomain(ctx, op)
		if err != nil {
			return err
		}
		if gone(d) {
			return nil
		}
		select {
		case <-ctx.Done():
			return drivers.Errorf(drivers.ClassGuest, g.op(op), "the guest did not release the device: %w", ctx.Err())
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// SetLink sets the link state of NIC nic, like virsh domif-setlink.
func (g *Guest) SetLink(ctx context.Context, nic int, up bool) error {
	op := fmt.Sprintf("set link %d", nic)
	d, err := g.liveDomain(ctx, op)
	if err != nil {
		return err
	}
	if nic < 0 || nic >= len(d.Devices.Interfaces) {
		return drivers.Errorf(drivers.ClassInput, g.op(op), "the guest has %d NICs", len(d.Devices.Interfaces))
	}
	itf := d.Devices.Interfaces[nic]
	state := "down"
	if up {
		state = "up"
	}
	itf.Link = &libvirtxml.DomainInterfaceLink{State: state}
	x, err := itf.Marshal()
	if err != nil {
		return drivers.Wrap(drivers.ClassHost, g.op(op), err)
	}
	return do0(ctx, g.h.c, g.op(op), func(l *golibvirt.Libvirt) error {
		return l.DomainUpdateDeviceFlags(g.dom, x, golibvirt.DomainDeviceModifyLive)
	})
}

// AttachNIC hot-adds a virtio NIC on the guest's network.
func (g *Guest) AttachNIC(ctx context.Context) (drivers.NICRef, error) {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return drivers.NICRef{}, drivers.Wrap(drivers.ClassHost, g.op("attach nic"), err)
	}
	mac := fmt.Sprintf("52:54:00:%02x:%02x:%02x", b[0], b[1], b[2])
	nic := nicXML(g.h.network, "virtio", mac)
	x, err := nic.Marshal()
	if err != nil {
		return drivers.NICRef{}, drivers.Wrap(drivers.ClassHost, g.op("attach nic"), err)
	}
	if err := do0(ctx, g.h.c, g.op("attach nic"), func(l *golibvirt.Libvirt) error {
		return l.DomainAttachDeviceFlags(g.dom, x, liveFlag)
	}); err != nil {
		return drivers.NICRef{}, err
	}
	return drivers.NICRef{MAC: mac}, nil
}

// DetachNIC removes a NIC by MAC and waits until it is gone.
func (g *Guest) DetachNIC(ctx context.Context, ref drivers.NICRef) error {
	op := "detach nic " + ref.MAC
	d, err := g.liveDomain(ctx, op)
	if err != nil {
		return err
	}
	var found *libvirtxml.DomainInterface
	for i, itf := range d.Devices.Interfaces {
		if itf.MAC != nil && strings.EqualFold(itf.MAC.Address, ref.MAC) {
			found = &d.Devices.Interfaces[i]
		}
	}
	if found == nil {
		return drivers.Errorf(drivers.ClassInput, g.op(op), "no NIC with that MAC")
	}
	x, err := found.Marshal()
	if err != nil {
		return drivers.Wrap(drivers.ClassHost, g.op(op), err)
	}
	if err := do0(ctx, g.h.c, g.op(op), func(l *golibvirt.Libvirt) error {
		return l.DomainDetachDeviceFlags(g.dom, x, liveFlag)
	}); err != nil {
		return err
	}
	return g.waitGone(ctx, op, func(d *libvirtxml.Domain) bool {
		for _, itf := range d.Devices.Interfaces {
			if itf.MAC != nil && strings.EqualFold(itf.MAC.Address, ref.MAC) {
				return false
			}
		}
		return true
	})
}

// Save writes guest memory to a managed save image and stops the domain.
// libvirt keeps the image and removes it on the next start (Restore);
// Destroy undefines with the managed save image, so nothing is left.
func (g *Guest) Save(ctx context.Context) error {
	return do0(ctx, g.h.c, g.op("save"), func(l *golibvirt.Libvirt) error {
		return l.DomainManagedSave(g.dom, 0)
	})
}

// Restore starts the domain from its managed save image.
func (g *Guest) Restore(ctx context.Context) error {
	return do0(ctx, g.h.c, g.op("restore"), func(l *golibvirt.Libvirt) error {
		has, err := l.DomainHasManagedSaveImage(g.dom, 0)
		if err != nil {
			return err
		}
		if has != 1 {
			return fmt.Errorf("no saved image to restore from")
		}
		return l.DomainCreate(g.dom)
	})
}

// Pause suspends the vCPUs.
func (g *Guest) Pause(ctx context.Context) error {
	return do0(ctx, g.h.c, g.op("pause"), func(l *golibvirt.Libvirt) error { return l.DomainSuspend(g.dom) })
}

// Resume resumes the vCPUs.
func (g *Guest) Resume(ctx context.Context) error {
	return do0(ctx, g.h.c, g.op("resume"), func(l *golibvirt.Libvirt) error { return l.DomainResume(g.dom) })
}

// SetGuestTime sets the guest's clock to t through virDomainSetTime (the
// agent's guest-set-time), the typed call virsh domtime uses.
func (g *Guest) SetGuestTime(ctx context.Context, t time.Time) error {
	err := do0(ctx, g.h.c, g.op("set guest time"), func(l *golibvirt.Libvirt) error {
		return l.DomainSetTime(g.dom, t.Unix(), uint32(t.Nanosecond()), 0)
	})
	if err != nil {
		if c := libvirtCode(err); c == golibvirt.ErrAgentUnresponsive || c == golibvirt.ErrOperationUnsupported || c == golibvirt.ErrArgumentUnsupported {
			// No agent answering is the guest's doing, not the host's.
			return &drivers.Error{Class: drivers.ClassGuest, Err: err}
		}
		return err
	}
	return nil
}

// GuestTime asks the QEMU guest agent for the guest's clock through
// virDomainGetTime (the agent's guest-get-time). It goes through libvirt's
// own agent path rather than a raw QEMUDomainAgentCommand: bookworm's
// libvirtd 9.0 was seen to crash on the lab right after raw agent commands
// to a guest under load, and the typed call is also what virsh domtime uses.
func (g *Guest) GuestTime(ctx context.Context) (time.Time, error) {
	type reply struct {
		sec  int64
		nsec uint32
	}
	r, err := do(ctx, g.h.c, g.op("guest time"), func(l *golibvirt.Libvirt) (reply, error) {
		s, ns, err := l.DomainGetTime(g.dom, 0)
		return reply{s, ns}, err
	})
	if err != nil {
		if c := libvirtCode(err); c == golibvirt.ErrAgentUnresponsive || c == golibvirt.ErrOperationUnsupported || c == golibvirt.ErrArgumentUnsupported {
			// No agent answering is the guest's doing, not the host's.
			return time.Time{}, &drivers.Error{Class: drivers.ClassGuest, Err: err}
		}
		return time.Time{}, err
	}
	return time.Unix(r.sec, int64(r.nsec)), nil
}
