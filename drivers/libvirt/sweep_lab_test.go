package libvirt

import (
	"context"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/drivers/drivertest"
)

// TestLabSweepSparesForeignVolumes (issue 11, finding 4): a volume named
// like ours but of a kind the driver never creates, or one a domain that
// is not ours uses, survives a sweep of its label. On 301818a both were
// removed by name alone. So does an orphan named exactly like ours that
// no owner record lists.
func TestLabSweepSparesForeignVolumes(t *testing.T) {
	uri := labURI(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := openLab(t, ctx, uri)
	label := drivertest.NewRunLabel()
	names := []string{volName(label, "db01", "data.qcow2"), volName(label, "db01", kindOverlay)}
	for _, n := range names {
		v, err := h.createVol(ctx, "test volume", mustVolXML(n, "qcow2", 1<<20, "", ""), 0)
		if err != nil {
			t.Fatal(err)
		}
		defer h.deleteVolDetached(context.Background(), v.vol)
	}
	x := `<domain type="qemu"><name>` + "user-" + label + `</name><memory unit="MiB">64</memory><os><type>hvm</type></os>` +
		`<devices><disk type="volume" device="disk"><driver name="qemu" type="qcow2"/><source pool="` + h.pool + `" volume="` + names[1] + `"/><target dev="vda" bus="virtio"/></disk></devices></domain>`
	dom, err := do(ctx, h.c, "define user domain", func(l *golibvirt.Libvirt) (golibvirt.Domain, error) { return l.DomainDefineXMLFlags(x, 0) })
	if err != nil {
		t.Fatal(err)
	}
	defer h.undefine(context.Background(), dom)
	res, err := h.Sweep(ctx, drivers.SweepSelector{RunLabel: label, DryRun: true})
	if err != nil || len(res) != 0 {
		t.Fatalf("sweep matched a user's volumes: %v %v", res, err)
	}
	// Once no domain uses the overlay-named volume, it is an orphan named
	// exactly like ours, but no owner record lists it: a real sweep leaves
	// it (on 0716edc it was removed by its name). A volume named like an
	// owner record, without our header in it, proves nothing and stays too.
	if err := h.undefine(ctx, dom); err != nil {
		t.Fatal(err)
	}
	fake, err := h.createVol(ctx, "test volume", mustVolXML(volName(label, "db01", kindOwner), "raw", 4096, "", ""), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer h.deleteVolDetached(context.Background(), fake.vol)
	res, err = h.Sweep(ctx, drivers.SweepSelector{RunLabel: label})
	if err != nil || len(res) != 0 {
		t.Fatalf("sweep removed volumes without an owner record: %v %v", res, err)
	}
	for _, n := range append(names, volName(label, "db01", kindOwner)) {
		if _, err := do(ctx, h.c, "look up", func(l *golibvirt.Libvirt) (golibvirt.StorageVol, error) {
			p, err := l.StoragePoolLookupByName(h.pool)
			if err != nil {
				return golibvirt.StorageVol{}, err
			}
			return l.StorageVolLookupByName(p, n)
		}); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}
