package libvirt

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtcert/virtcert/drivers"
)

// Sweep removes domains whose <metadata> carries our element with a
// matching run label, and the volumes it can prove are ours: those of a
// guest whose domain it removes (the domain's metadata names label and
// guest), and orphans (their domain gone) that the owner record of their
// label and guest lists (owner.go). A domain without our element, a
// volume without that proof, or one a domain that is not ours uses, is
// never touched. Age: a domain's created time from its metadata; a
// volume whose domain is gone by its modification time.
func (h *Host) Sweep(ctx context.Context, sel drivers.SweepSelector) ([]drivers.Resource, error) {
	if sel.RunLabel != "" {
		if err := checkName("run label", sel.RunLabel); err != nil {
			return nil, drivers.Errorf(drivers.ClassInput, "sweep", "%v", err)
		}
	}
	sw := sweeper{h: h, sel: sel, now: h.now(), kept: map[volKey]bool{}, swept: map[volKey]bool{}}
	doms, foreign, err := sw.listDomains(ctx)
	if err != nil {
		return nil, err
	}
	sw.sweepDomains(ctx, doms)
	vols, err := sw.listVolumes(ctx, foreign)
	if err != nil {
		return sw.res, errors.Join(append(sw.errs, err)...)
	}
	sw.sweepVolumes(ctx, vols, sw.readOwners(ctx, vols))
	if len(sw.errs) > 0 {
		return sw.res, drivers.Wrap(drivers.ClassHost, "sweep", errors.Join(sw.errs...))
	}
	return sw.res, nil
}

// sweeper is one Sweep in progress: the phases in order are listDomains,
// sweepDomains, listVolumes, readOwners, sweepVolumes.
type sweeper struct {
	h   *Host
	sel drivers.SweepSelector
	now time.Time
	res []drivers.Resource
	// errs collects what failed; the sweep goes on past each.
	errs []error
	// kept: labelled domains that stay: their volumes stay too.
	kept map[volKey]bool
	// swept: labelled domains removed: their metadata proves their volumes.
	swept map[volKey]bool
}

func (sw *sweeper) old(t time.Time) bool {
	return sw.sel.OlderThan <= 0 || sw.now.Sub(t) > sw.sel.OlderThan
}

func (sw *sweeper) match(label string) bool {
	return sw.sel.RunLabel == "" || sw.sel.RunLabel == label
}

// labelled is a domain carrying our metadata element.
type labelled struct {
	dom  golibvirt.Domain
	meta runMeta
}

// listDomains returns the domains carrying our element, and the disks of
// those that do not: a volume one of them uses is never removed,
// whatever its name.
func (sw *sweeper) listDomains(ctx context.Context) ([]labelled, map[string]bool, error) {
	foreign := map[string]bool{}
	doms, err := do(ctx, sw.h.c, "sweep: list domains", func(l *golibvirt.Libvirt) ([]labelled, error) {
		all, _, err := l.ConnectListAllDomains(1, 0)
		if err != nil {
			return nil, err
		}
		var out []labelled
		for _, d := range all {
			m, err := l.DomainGetMetadata(d, int32(golibvirt.DomainMetadataElement), golibvirt.OptString{MetadataNS}, golibvirt.DomainAffectCurrent)
			if err != nil {
				// No virtcert element (ErrNoDomainMetadata), or the domain
				// vanished meanwhile: not ours to touch, nor its disks.
				if x, err := l.DomainGetXMLDesc(d, 0); err == nil {
					diskSources(x, foreign)
				}
				continue
			}
			meta, err := parseRunMeta(m)
			if err != nil {
				continue
			}
			out = append(out, labelled{d, meta})
		}
		return out, nil
	})
	return doms, foreign, err
}

// sweepDomains removes the selected domains, recording each guest in
// swept or kept. Age: a domain's created time from its metadata.
func (sw *sweeper) sweepDomains(ctx context.Context, doms []labelled) {
	for _, d := range doms {
		k := volKey{d.meta.Label, d.meta.Guest}
		created, cerr := d.meta.created()
		if d.meta.Label == probeLabel && (cerr != nil || sw.now.Sub(created) < probeGrace) {
			// A probe of a live Open in another process: it removes itself.
			sw.kept[k] = true
			continue
		}
		if !sw.match(d.meta.Label) || (cerr == nil && !sw.old(created)) || (cerr != nil && sw.sel.OlderThan > 0) {
			sw.kept[k] = true
			continue
		}
		sw.res = append(sw.res, drivers.Resource{Kind: "domain", Name: d.dom.Name, RunLabel: d.meta.Label, Created: created})
		if !sw.sel.DryRun {
			if err := sw.h.undefine(ctx, d.dom); err != nil {
				sw.errs = append(sw.errs, err)
				sw.kept[k] = true // it may still use them
				continue
			}
		}
		sw.swept[k] = true
	}
}

// listVolumes returns the pool's volumes named like ours, each marked
// foreign when a domain that is not ours uses it.
func (sw *sweeper) listVolumes(ctx context.Context, foreign map[string]bool) ([]poolVol, error) {
	return do(ctx, sw.h.c, "sweep: list volumes", func(l *golibvirt.Libvirt) ([]poolVol, error) {
		p, all, err := poolVolumes(l, sw.h.pool)
		if err != nil {
			return nil, err
		}
		var out []poolVol
		for _, v := range all {
			label, guest, kind, ok := parseVolName(v.Name)
			if !ok {
				continue
			}
			pv := poolVol{v: v, label: label, guest: guest, kind: kind, foreign: foreign[v.Key] || foreign[p.Name+"/"+v.Name]}
			if x, err := l.StorageVolGetXMLDesc(v, 0); err == nil {
				var sv libvirtxml.StorageVolume
				if sv.Unmarshal(x) == nil && sv.Target != nil && sv.Target.Timestamps != nil {
					pv.mtime = parseStamp(sv.Target.Timestamps.Mtime)
				}
			}
			out = append(out, pv)
		}
		return out, nil
	})
}

// readOwners reads the owner records of the selected labels: what each
// lists, by guest.
func (sw *sweeper) readOwners(ctx context.Context, vols []poolVol) map[volKey]map[string]bool {
	owners := map[volKey]map[string]bool{}
	for _, v := range vols {
		if v.kind != kindOwner || v.foreign || !sw.match(v.label) {
			continue
		}
		b, err := sw.h.readOwner(ctx, v.v)
		if err != nil {
			sw.errs = append(sw.errs, err)
			continue
		}
		if listed, ok := parseOwner(b, v.label, v.guest); ok {
			owners[volKey{v.label, v.guest}] = listed
		}
	}
	return owners
}

// include tells whether a volume is selected by label and age (a volume's
// age is its modification time).
func (sw *sweeper) include(v poolVol) bool {
	if !sw.match(v.label) {
		return false
	}
	if v.label == probeLabel && (v.mtime.IsZero() || sw.now.Sub(v.mtime) < probeGrace) {
		return false
	}
	return sw.sel.OlderThan <= 0 || (!v.mtime.IsZero() && sw.old(v.mtime))
}

// sweepVolumes removes the volumes planVols picks; an owner record whose
// listed volume failed to go stays.
func (sw *sweeper) sweepVolumes(ctx context.Context, vols []poolVol, owners map[volKey]map[string]bool) {
	failed := map[volKey]bool{}
	for _, v := range planVols(vols, owners, sw.kept, sw.swept, sw.include) {
		k := volKey{v.label, v.guest}
		if v.kind == kindOwner && failed[k] {
			continue // a volume it lists stays: so does the proof
		}
		kind := "volume"
		if v.kind == kindSeed {
			kind = "seed"
		}
		sw.res = append(sw.res, drivers.Resource{Kind: kind, Name: v.v.Name, RunLabel: v.label, Created: v.mtime})
		if sw.sel.DryRun {
			continue
		}
		if err := sw.h.deleteVolDetached(ctx, v.v); err != nil {
			sw.errs = append(sw.errs, err)
			failed[k] = true
		}
	}
}

// poolVolumes lists every volume of the named pool, after a refresh so
// files written beside our volumes (rotated console logs) are listed too.
func poolVolumes(l *golibvirt.Libvirt, pool string) (golibvirt.StoragePool, []golibvirt.StorageVol, error) {
	p, err := l.StoragePoolLookupByName(pool)
	if err != nil {
		return p, nil, err
	}
	_ = l.StoragePoolRefresh(p, 0)
	vols, _, err := l.StoragePoolListAllVolumes(p, 1, 0)
	return p, vols, err
}

// volKey names one guest of one run.
type volKey struct{ label, guest string }

// poolVol is a volume named like ours, as sweep found it.
type poolVol struct {
	v                  golibvirt.StorageVol
	mtime              time.Time
	label, guest, kind string
	foreign            bool // a domain that is not ours uses it
}

// planVols picks the volumes sweep removes, owner records last. A volume
// counts when its guest's domain is removed by this sweep (swept) or the
// owner record of its guest lists it (owners); it is removed when include
// says so, no domain that is not ours uses it and its guest's domain does
// not stay (kept). An owner record goes once no volume it proves stays.
func planVols(vols []poolVol, owners map[volKey]map[string]bool, kept, swept map[volKey]bool, include func(poolVol) bool) []poolVol {
	var out, records []poolVol
	stays := map[volKey]bool{}
	for _, v := range vols {
		k := volKey{v.label, v.guest}
		if v.kind == kindOwner {
			if _, ok := owners[k]; ok && !v.foreign {
				records = append(records, v)
			}
			continue
		}
		if !swept[k] && !owners[k][v.v.Name] {
			continue // no proof: someone else's, whatever its name
		}
		if v.foreign || kept[k] || !include(v) {
			stays[k] = true
			continue
		}
		out = append(out, v)
	}
	for _, o := range records {
		if k := (volKey{o.label, o.guest}); !stays[k] && !kept[k] && include(o) {
			out = append(out, o)
		}
	}
	return out
}

// probeGrace protects the acceleration probe of a concurrent Open from a
// sweep of all labels: a probe lasts under a minute and removes itself.
const probeGrace = 2 * time.Minute

// parseStamp parses libvirt's "seconds.nanoseconds" timestamps.
func parseStamp(s string) time.Time {
	sec, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}
	}
	var ns int64
	if frac != "" {
		frac = (frac + "000000000")[:9]
		ns, _ = strconv.ParseInt(frac, 10, 64)
	}
	return time.Unix(n, ns)
}

// diskSources adds the disks of a domain's XML to set: file paths, and
// "pool/volume" for pool-backed disks.
func diskSources(x string, set map[string]bool) {
	var d libvirtxml.Domain
	if d.Unmarshal(x) != nil || d.Devices == nil {
		return
	}
	for _, disk := range d.Devices.Disks {
		if disk.Source == nil {
			continue
		}
		if f := disk.Source.File; f != nil && f.File != "" {
			set[f.File] = true
		}
		if v := disk.Source.Volume; v != nil && v.Volume != "" {
			set[v.Pool+"/"+v.Volume] = true
		}
	}
}
