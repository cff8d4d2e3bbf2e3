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
	op := "provision " + spec.Name
	exists, err := do(ctx, h.c, op, func(l *golibvirt.Libvirt) (bool, error) {
		_, err := l.DomainLookupByName(spec.Name)
		if isNoDomain(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return nil, err
	}
	if exists {
		return nil, drivers.Errorf(drivers.ClassInput, op, "a domain named %q already exists on %s", spec.Name, h.uri)
	}

	// Calls that create something run to completion under their own
	// bound instead of ctx: an RPC abandoned at ctx's end still completes
	// in libvirtd, after the rollback has already run, and would leak what
	// it made. Cancellation is honoured between the steps (step below).
	mctx, cancelM := context.WithTimeout(context.WithoutCancel(ctx), mutateTimeout)
	defer cancelM()

	var undo undoStack
	fail := func(err error) (*Guest, error) {
		if rerr := undo.run(ctx); rerr != nil {
			return nil, fmt.Errorf("%w (rollback incomplete, run sweep for label %s: %v)", err, spec.RunLabel, rerr)
		}
		return nil, err
	}
	step := func(name string) error {
		if h.failAt == name {
			return drivers.Errorf(drivers.ClassHost, op, "injected failure after step %q", name)
		}
		if err := ctx.Err(); err != nil {
			return drivers.Errorf(drivers.ClassHost, op, "interrupted after step %q: %w", name, err)
		}
		return nil
	}
	addVol := func(v volRef) {
		undo = append(undo, func(c context.Context) error { return h.deleteVolDetached(c, v.vol) })
	}

	// 0. the owner record, listing every volume made below (owner.go);
	// the undo stack removes it last.
	names := []string{volName(spec.RunLabel, spec.Name, kindConsole), volName(spec.RunLabel, spec.Name, kindOverlay)}
	if len(spec.Seed) > 0 {
		names = append(names, volName(spec.RunLabel, spec.Name, kindSeed))
	}
	for i := range spec.ExtraDisks {
		names = append(names, volName(spec.RunLabel, spec.Name, fmt.Sprintf("disk%d.qcow2", i+1)))
	}
	owner, err := h.createOwner(mctx, spec.RunLabel, spec.Name, names)
	if err != nil {
		return fail(err)
	}
	addVol(volRef{vol: owner.vol})
	if err := step("owner"); err != nil {
		return fail(err)
	}

	// 1. console log volume (the serial port writes into it)
	console, err := h.createVol(mctx, op+": console volume", mustVolXML(volName(spec.RunLabel, spec.Name, kindConsole), "raw", 0, "", ""), 0)
	if err != nil {
		return fail(err)
	}
	addVol(console)
	if err := step("console"); err != nil {
		return fail(err)
	}

	// 2. overlay on the base image; libvirt runs qemu-img with a backing
	// file, the base is never copied.
	ox, err := volumeXML(volName(spec.RunLabel, spec.Name, kindOverlay), "qcow2", 0, spec.Image.Path, spec.Image.Format)
	if err != nil {
		return fail(drivers.Wrap(drivers.ClassHost, op, err))
	}
	overlay, err := h.createVol(mctx, op+": overlay on "+spec.Image.Path, ox, 0)
	if err != nil {
		return fail(err)
	}
	addVol(overlay)
	if err := step("overlay"); err != nil {
		return fail(err)
	}

	// 3. seed, uploaded through the storage API (works on remote hosts)
	seedName := ""
	if len(spec.Seed) > 0 {
		seedName = volName(spec.RunLabel, spec.Name, kindSeed)
		seed, err := h.createVol(mctx, op+": seed volume", mustVolXML(seedName, "raw", uint64(len(spec.Seed)), "", ""), 0)
		if err != nil {
			return fail(err)
		}
		addVol(seed)
		if err := do0(mctx, h.c, op+": upload seed", func(l *golibvirt.Libvirt) error {
			return l.StorageVolUpload(seed.vol, bytes.NewReader(spec.Seed), 0, uint64(len(spec.Seed)), 0)
		}); err != nil {
			return fail(err)
		}
		if err := step("seed"); err != nil {
			return fail(err)
		}
	}

	// 4. extra blank disks
	var extra []string
	for i, mb := range spec.ExtraDisks {
		n := volName(spec.RunLabel, spec.Name, fmt.Sprintf("disk%d.qcow2", i+1))
		v, err := h.createVol(mctx, op+": extra disk", mustVolXML(n, "qcow2", uint64(mb)<<20, "", ""), 0)
		if err != nil {
			return fail(err)
		}
		addVol(v)
		extra = append(extra, n)
	}
	if err := step("disks"); err != nil {
		return fail(err)
	}

	// 5. define the domain
	meta := runMeta{Label: spec.RunLabel, Guest: spec.Name, Created: h.now().UTC().Format(time.RFC3339Nano)}
	x, err := domainXML(domainParams{
		Name: spec.Name, Type: typ, MemoryMB: spec.MemoryMB, CPUs: spec.CPUs, Meta: meta,
		Pool: h.pool, Overlay: volName(spec.RunLabel, spec.Name, kindOverlay), DiskBus: spec.DiskBus,
		Seed: seedName, SeedBus: seedBus, ExtraDisks: extra,
		Network: h.network, NICModel: spec.NICModel, MAC: spec.Extra["mac"],
		Kernel: spec.Image.Kernel, Initrd: spec.Image.Initrd, Cmdline: spec.Image.Cmdline,
		Console: console.path, UEFI: spec.Image.Firmware == "uefi",
	})
	if err != nil {
		return fail(drivers.Wrap(drivers.ClassInput, op, err))
	}
	dom, err := do(mctx, h.c, op+": define domain", func(l *golibvirt.Libvirt) (golibvirt.Domain, error) {
		return l.DomainDefineXMLFlags(x, golibvirt.DomainDefineValidate)
	})
	if err != nil {
		return fail(err)
	}
	undo = append(undo, func(c context.Context) error { return h.undefine(c, dom) })
	if err := step("define"); err != nil {
		return fail(err)
	}

	// 6. start
	defined := time.Now()
	if err := do0(mctx, h.c, op+": start domain", func(l *golibvirt.Libvirt) error {
		return l.DomainCreate(dom)
	}); err != nil {
		return fail(err)
	}
	if err := step("start"); err != nil {
		return fail(err)
	}
	g := &Guest{h: h, name: spec.Name, label: spec.RunLabel, dom: dom, console: console.vol, owner: owner,
		ProvisionTime: time.Since(start), StartTime: time.Since(defined)}
	h.log.Debug("libvirt: guest started", "guest", spec.Name, "provision", g.ProvisionTime, "start", g.StartTime, "type", typ)
	return g, nil
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
