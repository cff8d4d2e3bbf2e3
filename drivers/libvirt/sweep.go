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
	now := h.now()
	old := func(t time.Time) bool { return sel.OlderThan <= 0 || now.Sub(t) > sel.OlderThan }
	match := func(label string) bool { return sel.RunLabel == "" || sel.RunLabel == label }

	type labelled struct {
		dom  golibvirt.Domain
		meta runMeta
	}
	// Disks of domains that are not ours: a volume one of them uses is
	// never removed, whatever its name.
	foreign := map[string]bool{}
	doms, err := do(ctx, h.c, "sweep: list domains", func(l *golibvirt.Libvirt) ([]labelled, error) {
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
	if err != nil {
		return nil, err
	}

	var res []drivers.Resource
	var errs []error
	kept := map[volKey]bool{}  // labelled domains that stay: their volumes stay too
	swept := map[volKey]bool{} // labelled domains removed: their metadata proves their volumes
	for _, d := range doms {
		created, cerr := d.meta.created()
		if d.meta.Label == probeLabel && (cerr != nil || now.Sub(created) < probeGrace) {
			// A probe of a live Open in another process: it removes itself.
			kept[volKey{d.meta.Label, d.meta.Guest}] = true
			continue
		}
		if !match(d.meta.Label) || (cerr == nil && !old(created)) || (cerr != nil && sel.OlderThan > 0) {
			kept[volKey{d.meta.Label, d.meta.Guest}] = true
			continue
		}
		res = append(res, drivers.Resource{Kind: "domain", Name: d.dom.Name, RunLabel: d.meta.Label, Created: created})
		if !sel.DryRun {
			if err := h.undefine(ctx, d.dom); err != nil {
				errs = append(errs, err)
				kept[volKey{d.meta.Label, d.meta.Guest}] = true // it may still use them
				continue
			}
		}
		swept[volKey{d.meta.Label, d.meta.Guest}] = true
	}

	vols, err := do(ctx, h.c, "sweep: list volumes", func(l *golibvirt.Libvirt) ([]poolVol, error) {
		p, err := l.StoragePoolLookupByName(h.pool)
		if err != nil {
			return nil, err
		}
		_ = l.StoragePoolRefresh(p, 0)
		all, _, err := l.StoragePoolListAllVolumes(p, 1, 0)
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
	if err != nil {
		return res, errors.Join(append(errs, err)...)
	}
	owners := map[volKey]map[string]bool{}
	for _, v := range vols {
		if v.kind != kindOwner || v.foreign || !match(v.label) {
			continue
		}
		b, err := h.readOwner(ctx, v.v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if listed, ok := parseOwner(b, v.label, v.guest); ok {
			owners[volKey{v.label, v.guest}] = listed
		}
	}
	include := func(v poolVol) bool {
		if !match(v.label) {
			return false
		}
		if v.label == probeLabel && (v.mtime.IsZero() || now.Sub(v.mtime) < probeGrace) {
			return false
		}
		return sel.OlderThan <= 0 || (!v.mtime.IsZero() && old(v.mtime))
	}
	failed := map[volKey]bool{}
	for _, v := range planVols(vols, owners, kept, swept, include) {
		k := volKey{v.label, v.guest}
		if v.kind == kindOwner && failed[k] {
			continue // a volume it lists stays: so does the proof
		}
		kind := "volume"
		if v.kind == kindSeed {
			kind = "seed"
		}
		res = append(res, drivers.Resource{Kind: kind, Name: v.v.Name, RunLabel: v.label, Created: v.mtime})
		if sel.DryRun {
			continue
		}
		if err := h.deleteVolDetached(ctx, v.v); err != nil {
			errs = append(errs, err)
			failed[k] = true
		}
	}
	if len(errs) > 0 {
		return res, drivers.Wrap(drivers.ClassHost, "sweep", errors.Join(errs...))
	}
	return res, nil
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
