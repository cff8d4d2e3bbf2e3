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
// matching run label, and volumes whose names carry one (volPrefix). A
// domain without our element, or a volume without our prefix, is never
// touched. Age: a domain's created time from its metadata; a volume whose
// domain is gone by its modification time (a running guest's volumes go
// with its domain).
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
	type key struct{ label, guest string }
	kept := map[key]bool{} // labelled domains that stay: their volumes stay too
	for _, d := range doms {
		created, cerr := d.meta.created()
		if d.meta.Label == probeLabel && (cerr != nil || now.Sub(created) < probeGrace) {
			// A probe of a live Open in another process: it removes itself.
			kept[key{d.meta.Label, d.meta.Guest}] = true
			continue
		}
		if !match(d.meta.Label) || (cerr == nil && !old(created)) || (cerr != nil && sel.OlderThan > 0) {
			kept[key{d.meta.Label, d.meta.Guest}] = true
			continue
		}
		res = append(res, drivers.Resource{Kind: "domain", Name: d.dom.Name, RunLabel: d.meta.Label, Created: created})
		if sel.DryRun {
			continue
		}
		if err := h.undefine(ctx, d.dom); err != nil {
			errs = append(errs, err)
		}
	}

	type vol struct {
		v     golibvirt.StorageVol
		mtime time.Time
	}
	vols, err := do(ctx, h.c, "sweep: list volumes", func(l *golibvirt.Libvirt) ([]vol, error) {
		p, err := l.StoragePoolLookupByName(h.pool)
		if err != nil {
			return nil, err
		}
		_ = l.StoragePoolRefresh(p, 0)
		all, _, err := l.StoragePoolListAllVolumes(p, 1, 0)
		if err != nil {
			return nil, err
		}
		var out []vol
		for _, v := range all {
			if _, _, _, ok := parseVolName(v.Name); !ok || foreign[v.Key] || foreign[p.Name+"/"+v.Name] {
				continue
			}
			var mt time.Time
			if x, err := l.StorageVolGetXMLDesc(v, 0); err == nil {
				var sv libvirtxml.StorageVolume
				if sv.Unmarshal(x) == nil && sv.Target != nil && sv.Target.Timestamps != nil {
					mt = parseStamp(sv.Target.Timestamps.Mtime)
				}
			}
			out = append(out, vol{v, mt})
		}
		return out, nil
	})
	if err != nil {
		return res, errors.Join(append(errs, err)...)
	}
	for _, v := range vols {
		label, guest, kind, _ := parseVolName(v.v.Name)
		if !match(label) || kept[key{label, guest}] {
			continue
		}
		if label == probeLabel && (v.mtime.IsZero() || now.Sub(v.mtime) < probeGrace) {
			continue
		}
		if sel.OlderThan > 0 && (v.mtime.IsZero() || !old(v.mtime)) {
			continue
		}
		k := "volume"
		if kind == kindSeed {
			k = "seed"
		}
		res = append(res, drivers.Resource{Kind: k, Name: v.v.Name, RunLabel: label, Created: v.mtime})
		if sel.DryRun {
			continue
		}
		if err := h.deleteVolDetached(ctx, v.v); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return res, drivers.Wrap(drivers.ClassHost, "sweep", errors.Join(errs...))
	}
	return res, nil
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
