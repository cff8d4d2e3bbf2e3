package libvirt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/virtcert/virtcert/drivers"
)

// Spec options (GuestSpec.Extra) this driver understands.
var knownSpecOptions = []string{"seed_bus", "mac"}

// mutateTimeout bounds each creating call of Provision (see mctx).
const mutateTimeout = 2 * time.Minute

// undoStack runs cleanups in reverse order; Provision uses it to roll back.
type undoStack []func(context.Context) error

func (u undoStack) run(ctx context.Context) error {
	// Cleanup must happen even when the caller's ctx is already cancelled
	// (Ctrl-C mid-provision), but must not hang forever either.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	var errs []error
	for i := len(u) - 1; i >= 0; i-- {
		if err := u[i](dctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Provision creates the overlay, seed, console and extra volumes and the
// domain, and starts it. Any failure rolls back what was created.
func (h *Host) Provision(ctx context.Context, spec drivers.GuestSpec) (drivers.Guest, error) {
	start := time.Now()
	g, err := h.provision(ctx, spec, start)
	if err != nil {
		return nil, err
	}
	return g, nil
}

func (h *Host) checkSpec(spec drivers.GuestSpec) (seedBus string, err error) {
	bad := func(format string, args ...any) error {
		return drivers.Errorf(drivers.ClassInput, "provision "+spec.Name, format, args...)
	}
	if err := checkName("run label", spec.RunLabel); err != nil {
		return "", bad("%v", err)
	}
	if err := checkName("guest name", spec.Name); err != nil {
		return "", bad("%v", err)
	}
	if spec.MemoryMB <= 0 {
		return "", bad("memory %d MiB: must be positive", spec.MemoryMB)
	}
	if spec.CPUs < 0 {
		return "", bad("cpus %d: must be positive", spec.CPUs)
	}
	if spec.Image.Path == "" {
		return "", bad("image path is empty")
	}
	switch spec.Image.Format {
	case "qcow2", "raw":
	case "":
		return "", bad("image format is empty (want qcow2 or raw)")
	default:
		return "", bad("image format %q: the libvirt driver boots qcow2 or raw", spec.Image.Format)
	}
	switch spec.Image.RTC {
	case "", "utc", "localtime":
	default:
		return "", bad("rtc %q: want utc or localtime", spec.Image.RTC)
	}
	switch spec.Image.Firmware {
	case "", "bios", "uefi":
	default:
		return "", bad("firmware %q: want bios or uefi", spec.Image.Firmware)
	}
	if spec.DiskBus != "" && !validBus[spec.DiskBus] {
		return "", bad("disk bus %q: want virtio, scsi, sata or ide", spec.DiskBus)
	}
	for _, mb := range spec.ExtraDisks {
		if mb <= 0 {
			return "", bad("extra disk of %d MiB: size must be positive", mb)
		}
	}
	for k, v := range spec.Extra {
		if !slices.Contains(knownSpecOptions, k) {
			return "", bad("unknown option %q (known: %s)", k, strings.Join(knownSpecOptions, ", "))
		}
		if k == "seed_bus" {
			if !validBus[v] {
				return "", bad("seed_bus %q: want scsi, virtio, sata or ide", v)
			}
			seedBus = v
		}
	}
	if h.local {
		// On a local host we can name a missing file precisely, before
		// anything is created. Remote hosts report it through libvirt.
		for what, p := range map[string]string{"image": spec.Image.Path, "kernel": spec.Image.Kernel, "initrd": spec.Image.Initrd} {
			if p == "" {
				continue
			}
			if _, err := os.Stat(p); err != nil {
				return "", bad("%s %s: %v", what, p, errors.Unwrap(err))
			}
		}
	}
	return seedBus, nil
}

func (h *Host) provision(ctx context.Context, spec drivers.GuestSpec, start time.Time) (*Guest, error) {
	seedBus, err := h.checkSpec(spec)
	if err != nil {
		return nil, err
	}
	if spec.CPUs == 0 {
		spec.CPUs = 1
	}
	typ, err := h.domainType(ctx)
	if err != nil {
		return nil, err
	}
	p := &provisioning{h: h, spec: spec, op: "provision " + spec.Name, ctx: ctx}
	if err := p.checkFree(); err != nil {
		return nil, err
	}

	// Calls that create something run to completion under their own
	// bound instead of ctx: an RPC abandoned at ctx's end still completes
	// in libvirtd, after the rollback has already run, and would leak what
	// it made. Cancellation is honoured between the steps (step).
	mctx, cancelM := context.WithTimeout(context.WithoutCancel(ctx), mutateTimeout)
	defer cancelM()
	p.mctx = mctx

	vols, err := p.volumes()
	if err != nil {
		return p.fail(err)
	}
	dom, err := p.define(typ, seedBus, vols)
	if err != nil {
		return p.fail(err)
	}
	defined := time.Now()
	if err := p.start(dom); err != nil {
		return p.fail(err)
	}
	g := &Guest{h: h, name: spec.Name, label: spec.RunLabel, dom: dom, console: vols.console.vol, owner: vols.owner,
		ProvisionTime: time.Since(start), StartTime: time.Since(defined)}
	h.log.Debug("libvirt: guest started", "guest", spec.Name, "provision", g.ProvisionTime, "start", g.StartTime, "type", typ)
	return g, nil
}

// provisioning is one Provision in progress: its steps, in order, are
// volumes (owner record, console, overlay, seed, extra disks), define
// and start; undo rolls back what they made.
type provisioning struct {
	h    *Host
	spec drivers.GuestSpec
	op   string
	ctx  context.Context // the caller's: checked between steps
	mctx context.Context // bounds each call that creates something
	undo undoStack
}

// guestVolumes are the volumes made for one guest.
type guestVolumes struct {
	owner   ownerRef
	console volRef
	seed    string   // the seed volume's name, "" without a seed
	extra   []string // the extra disks' volume names
}

// vol names one of the guest's volumes.
func (p *provisioning) vol(kind string) string {
	return volName(p.spec.RunLabel, p.spec.Name, kind)
}

func extraDisk(i int) string { return fmt.Sprintf("disk%d.qcow2", i+1) }

// checkFree fails when a domain of the guest's name exists.
func (p *provisioning) checkFree() error {
	exists, err := do(p.ctx, p.h.c, p.op, func(l *golibvirt.Libvirt) (bool, error) {
		_, err := l.DomainLookupByName(p.spec.Name)
		if isNoDomain(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return err
	}
	if exists {
		return drivers.Errorf(drivers.ClassInput, p.op, "a domain named %q already exists on %s", p.spec.Name, p.h.uri)
	}
	return nil
}

// fail rolls back what the steps made and returns err, naming the label
// to sweep when the rollback is incomplete.
func (p *provisioning) fail(err error) (*Guest, error) {
	if rerr := p.undo.run(p.ctx); rerr != nil {
		return nil, fmt.Errorf("%w (rollback incomplete, run sweep for label %s: %v)", err, p.spec.RunLabel, rerr)
	}
	return nil, err
}

// step ends a step: an injected failure (tests) or the caller's
// cancellation stops Provision there.
func (p *provisioning) step(name string) error {
	if p.h.failAt == name {
		return drivers.Errorf(drivers.ClassHost, p.op, "injected failure after step %q", name)
	}
	if err := p.ctx.Err(); err != nil {
		return drivers.Errorf(drivers.ClassHost, p.op, "interrupted after step %q: %w", name, err)
	}
	return nil
}

func (p *provisioning) addVol(v volRef) {
	p.undo = append(p.undo, func(c context.Context) error { return p.h.deleteVolDetached(c, v.vol) })
}

// volumes makes the guest's volumes, the owner record first (owner.go),
// listing every volume made after it; the undo stack removes it last.
func (p *provisioning) volumes() (guestVolumes, error) {
	var v guestVolumes
	names := []string{p.vol(kindConsole), p.vol(kindOverlay)}
	if len(p.spec.Seed) > 0 {
		names = append(names, p.vol(kindSeed))
	}
	for i := range p.spec.ExtraDisks {
		names = append(names, p.vol(extraDisk(i)))
	}
	owner, err := p.h.createOwner(p.mctx, p.spec.RunLabel, p.spec.Name, names)
	if err != nil {
		return v, err
	}
	v.owner = owner
	p.addVol(volRef{vol: owner.vol})
	if err := p.step("owner"); err != nil {
		return v, err
	}

	// the console log volume (the serial port writes into it)
	if v.console, err = p.h.createVol(p.mctx, p.op+": console volume", mustVolXML(p.vol(kindConsole), "raw", 0, "", ""), 0); err != nil {
		return v, err
	}
	p.addVol(v.console)
	if err := p.step("console"); err != nil {
		return v, err
	}
	if err := p.overlay(); err != nil {
		return v, err
	}
	if v.seed, err = p.seed(); err != nil {
		return v, err
	}
	v.extra, err = p.extraDisks()
	return v, err
}

// overlay makes the overlay on the base image; libvirt runs qemu-img
// with a backing file, the base is never copied.
func (p *provisioning) overlay() error {
	img := p.spec.Image
	ox, err := volumeXML(p.vol(kindOverlay), "qcow2", 0, img.Path, img.Format)
	if err != nil {
		return drivers.Wrap(drivers.ClassHost, p.op, err)
	}
	overlay, err := p.h.createVol(p.mctx, p.op+": overlay on "+img.Path, ox, 0)
	if err != nil {
		return err
	}
	p.addVol(overlay)
	return p.step("overlay")
}

// seed makes the seed volume, uploaded through the storage API (works
// on remote hosts), and returns its name ("" when the spec has none).
func (p *provisioning) seed() (string, error) {
	data := p.spec.Seed
	if len(data) == 0 {
		return "", nil
	}
	name := p.vol(kindSeed)
	seed, err := p.h.createVol(p.mctx, p.op+": seed volume", mustVolXML(name, "raw", uint64(len(data)), "", ""), 0)
	if err != nil {
		return "", err
	}
	p.addVol(seed)
	if err := do0(p.mctx, p.h.c, p.op+": upload seed", func(l *golibvirt.Libvirt) error {
		return l.StorageVolUpload(seed.vol, bytes.NewReader(data), 0, uint64(len(data)), 0)
	}); err != nil {
		return "", err
	}
	return name, p.step("seed")
}

// extraDisks makes the blank extra disks and returns their names.
func (p *provisioning) extraDisks() ([]string, error) {
	var extra []string
	for i, mb := range p.spec.ExtraDisks {
		n := p.vol(extraDisk(i))
		v, err := p.h.createVol(p.mctx, p.op+": extra disk", mustVolXML(n, "qcow2", uint64(mb)<<20, "", ""), 0)
		if err != nil {
			return nil, err
		}
		p.addVol(v)
		extra = append(extra, n)
	}
	return extra, p.step("disks")
}

// define defines the domain on the volumes made.
func (p *provisioning) define(typ, seedBus string, v guestVolumes) (golibvirt.Domain, error) {
	spec, h := p.spec, p.h
	meta := runMeta{Label: spec.RunLabel, Guest: spec.Name, Created: h.now().UTC().Format(time.RFC3339Nano)}
	x, err := domainXML(domainParams{
		Name: spec.Name, Type: typ, MemoryMB: spec.MemoryMB, CPUs: spec.CPUs, Meta: meta,
		Pool: h.pool, Overlay: p.vol(kindOverlay), DiskBus: spec.DiskBus,
		Seed: v.seed, SeedBus: seedBus, ExtraDisks: v.extra,
		Network: h.network, NICModel: spec.NICModel, MAC: spec.Extra["mac"],
		Kernel: spec.Image.Kernel, Initrd: spec.Image.Initrd, Cmdline: spec.Image.Cmdline,
		Console: v.console.path, UEFI: spec.Image.Firmware == "uefi",
		OS: spec.Image.OS, RTC: spec.Image.RTC,
	})
	if err != nil {
		return golibvirt.Domain{}, drivers.Wrap(drivers.ClassInput, p.op, err)
	}
	dom, err := do(p.mctx, h.c, p.op+": define domain", func(l *golibvirt.Libvirt) (golibvirt.Domain, error) {
		return l.DomainDefineXMLFlags(x, golibvirt.DomainDefineValidate)
	})
	if err != nil {
		return dom, err
	}
	p.undo = append(p.undo, func(c context.Context) error { return h.undefine(c, dom) })
	return dom, p.step("define")
}

// start starts the defined domain.
func (p *provisioning) start(dom golibvirt.Domain) error {
	if err := do0(p.mctx, p.h.c, p.op+": start domain", func(l *golibvirt.Libvirt) error {
		return l.DomainCreate(dom)
	}); err != nil {
		return err
	}
	return p.step("start")
}

func mustVolXML(name, format string, capacity uint64, backing, backingFormat string) string {
	x, err := volumeXML(name, format, capacity, backing, backingFormat)
	if err != nil {
		// volumeXML marshals a fixed, typed structure; it cannot fail on
		// any input we give it.
		panic(err)
	}
	return x
}

// undefine stops (forcibly) and undefines a domain; a missing domain is
// not an error.
func (h *Host) undefine(ctx context.Context, dom golibvirt.Domain) error {
	return do0(ctx, h.c, "undefine "+dom.Name, func(l *golibvirt.Libvirt) error {
		err := l.DomainDestroy(dom)
		if err != nil && !isNoDomain(err) && libvirtCode(err) != golibvirt.ErrOperationInvalid {
			return err
		}
		err = l.DomainUndefineFlags(dom, golibvirt.DomainUndefineManagedSave|golibvirt.DomainUndefineSnapshotsMetadata|
			golibvirt.DomainUndefineNvram|golibvirt.DomainUndefineCheckpointsMetadata)
		if isNoDomain(err) {
			return nil
		}
		return err
	})
}

// deleteGuestVolumes removes every volume named for (label, guest),
// including hot-added disks and rotated console logs. It returns what it
// removed.
func (h *Host) deleteGuestVolumes(ctx context.Context, label, guest string) ([]string, error) {
	prefix := volGuestPrefix(label, guest)
	return do(ctx, h.c, "delete volumes of "+guest, func(l *golibvirt.Libvirt) ([]string, error) {
		_, vols, err := poolVolumes(l, h.pool)
		if err != nil {
			return nil, err
		}
		var gone []string
		var errs []error
		// The owner record goes last: while any volume stays, it is the
		// proof that lets sweep remove it.
		owner := volName(label, guest, kindOwner)
		slices.SortStableFunc(vols, func(a, b golibvirt.StorageVol) int {
			return cmpBool(a.Name == owner, b.Name == owner)
		})
		for _, v := range vols {
			if !strings.HasPrefix(v.Name, prefix) {
				continue
			}
			if v.Name == owner && len(errs) > 0 {
				continue
			}
			if err := l.StorageVolDelete(v, 0); err != nil && !isNoVol(err) {
				errs = append(errs, fmt.Errorf("%s: %w", v.Name, err))
				continue
			}
			gone = append(gone, v.Name)
		}
		return gone, errors.Join(errs...)
	})
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
