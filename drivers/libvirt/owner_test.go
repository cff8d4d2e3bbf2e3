package libvirt

import (
	"slices"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
)

func TestParseOwner(t *testing.T) {
	const l, g = "vc-20261203-1140-ab12cd", "tiny-1"
	head := ownerHeader(l, g, time.Date(2026, 12, 3, 11, 40, 0, 0, time.UTC))
	ov, hot := volName(l, g, kindOverlay), volName(l, g, "hot7.qcow2")
	rec := head + "vol " + ov + "\n" + "vol " + hot + "\n"
	got, ok := parseOwner(append([]byte(rec), 0, 0, 0), l, g)
	if !ok || len(got) != 2 || !got[ov] || !got[hot] {
		t.Fatalf("record %q: %v %v", rec, got, ok)
	}
	// A torn append (no newline yet) lists nothing more.
	if got, ok := parseOwner([]byte(rec+"vol "+volName(l, g, "hot8")), l, g); !ok || len(got) != 2 {
		t.Fatalf("torn line: %v %v", got, ok)
	}
	for name, b := range map[string]string{
		"other label":         ownerHeader("vc-other", g, time.Now()) + "vol " + ov + "\n",
		"other guest":         ownerHeader(l, "tiny-2", time.Now()) + "vol " + ov + "\n",
		"header not first":    "\n" + rec,
		"header unanchored":   "x" + rec,
		"bad time":            "virtcert.run=" + l + " guest=" + g + " created=yesterday\n",
		"another guest's vol": head + "vol " + volName(l, "tiny-2", kindOverlay) + "\n",
		"a foreign kind":      head + "vol " + volName(l, g, "data.qcow2") + "\n",
		"the record itself":   head + "vol " + volName(l, g, kindOwner) + "\n",
		"garbage line":        head + "rm -rf /\n",
		"empty":               "",
	} {
		if got, ok := parseOwner([]byte(b), l, g); ok {
			t.Errorf("%s: %q accepted: %v", name, b, got)
		}
	}
}

// TestPlanVolsNeedsProof (issue 11, finding 4): an orphan volume named
// exactly like one of ours, with no owner record listing it, is not
// removed; listed ones are, the owner record last and only once nothing
// it lists stays. Before the owner record, the name alone counted.
func TestPlanVolsNeedsProof(t *testing.T) {
	const l = "vc-20261203-1140-ab12cd"
	pv := func(guest, kind string) poolVol {
		return poolVol{v: golibvirt.StorageVol{Name: volName(l, guest, kind)}, label: l, guest: guest, kind: kind}
	}
	a := volKey{l, "a"}
	vols := []poolVol{
		pv("a", kindOwner), pv("a", kindOverlay), pv("a", "hot3.qcow2"),
		pv("a", "disk1.qcow2"), // not listed: someone else's
		pv("u", kindOverlay),   // no owner record at all: a user's
		pv("d", kindConsole),   // its domain is removed by this sweep
		pv("k", kindOverlay),   // its domain stays
		pv("k", kindOwner),
	}
	owners := map[volKey]map[string]bool{
		a:        {volName(l, "a", kindOverlay): true, volName(l, "a", "hot3.qcow2"): true},
		{l, "k"}: {volName(l, "k", kindOverlay): true},
	}
	kept := map[volKey]bool{{l, "k"}: true}
	swept := map[volKey]bool{{l, "d"}: true}
	all := func(poolVol) bool { return true }
	var got []string
	for _, v := range planVols(vols, owners, kept, swept, all) {
		got = append(got, v.guest+"/"+v.kind)
	}
	want := []string{"a/overlay.qcow2", "a/hot3.qcow2", "d/console.log", "a/owner"}
	if !slices.Equal(got, want) {
		t.Fatalf("plan %v, want %v", got, want)
	}
	// A listed volume that stays (too young, or used by a foreign
	// domain) keeps the owner record.
	young := func(v poolVol) bool { return v.kind != "hot3.qcow2" }
	for _, v := range planVols(vols, owners, kept, swept, young) {
		if v.kind == kindOwner {
			t.Fatalf("owner record removed while hot3 stays")
		}
	}
	vols[1].foreign = true
	for _, v := range planVols(vols, owners, kept, swept, all) {
		if v.kind == kindOwner || v.kind == kindOverlay && v.guest == "a" {
			t.Fatalf("removed %s: a foreign domain uses the overlay", v.v.Name)
		}
	}
}
