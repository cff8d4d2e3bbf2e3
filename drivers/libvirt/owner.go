package libvirt

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/virtcert/virtcert/drivers"
)

// The owner record is what proves, after a guest's domain is gone, that
// its volumes are ours: a dir pool keeps no metadata on a volume, and a
// name alone can be anyone's. Before it creates any other volume of a
// guest, the driver creates virtcert--<label>--<guest>--owner, a small raw
// volume holding
//
//	virtcert.run=<label> guest=<guest> created=<RFC 3339 time>
//	vol <name of a volume it is about to create>
//	...
//
// and appends a "vol" line before each volume it adds later (hot-added
// disks). Sweep removes an orphan volume only when the owner record of its
// label and guest lists it, and removes the record last.
const kindOwner = "owner"

// ownerCap is the owner volume's size: the header and about 700 "vol"
// lines. A volume that cannot be recorded is not created.
const ownerCap = 64 << 10

// ownerTimeout bounds each read or write of an owner record.
const ownerTimeout = 30 * time.Second

// ownerRef is an owner record being written: end is where the next line goes.
type ownerRef struct {
	vol golibvirt.StorageVol
	end uint64
}

// ownerPrefix begins the first line of the owner record of (label, guest).
func ownerPrefix(label, guest string) string {
	return fmt.Sprintf("virtcert.run=%s guest=%s created=", label, guest)
}

func ownerHeader(label, guest string, created time.Time) string {
	return ownerPrefix(label, guest) + created.UTC().Format(time.RFC3339Nano) + "\n"
}

// parseOwner returns the volumes an owner record of (label, guest) lists,
// or ok false when b is not one: its first line must be exactly our header
// for that label and guest, and every listed name one of that guest's
// volume names. A torn last line (no newline) is ignored.
func parseOwner(b []byte, label, guest string) (vols map[string]bool, ok bool) {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i] // the rest of the volume is unwritten (zeros)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 2 {
		return nil, false
	}
	head, found := strings.CutPrefix(lines[0], ownerPrefix(label, guest))
	if !found {
		return nil, false
	}
	if _, err := time.Parse(time.RFC3339Nano, head); err != nil {
		return nil, false
	}
	vols = map[string]bool{}
	for _, ln := range lines[1 : len(lines)-1] {
		n, found := strings.CutPrefix(ln, "vol ")
		if !found {
			return nil, false
		}
		l, g, k, vok := parseVolName(n)
		if !vok || l != label || g != guest || k == kindOwner {
			return nil, false
		}
		vols[n] = true
	}
	return vols, true
}

// createOwner creates the owner record of (label, guest) listing vols.
func (h *Host) createOwner(ctx context.Context, label, guest string, vols []string) (ownerRef, error) {
	ref, err := h.createVol(ctx, "create owner record", mustVolXML(volName(label, guest, kindOwner), "raw", ownerCap, "", ""), 0)
	if err != nil {
		return ownerRef{}, err
	}
	o := ownerRef{vol: ref.vol}
	if err := h.writeOwner(ctx, &o, ownerHeader(label, guest, h.now()), vols...); err != nil {
		h.deleteVolDetached(ctx, ref.vol)
		return ownerRef{}, err
	}
	return o, nil
}

// appendOwner records vols in o before they are created.
func (h *Host) appendOwner(ctx context.Context, o *ownerRef, vols ...string) error {
	return h.writeOwner(ctx, o, "", vols...)
}

func (h *Host) writeOwner(ctx context.Context, o *ownerRef, head string, vols ...string) error {
	var b strings.Builder
	b.WriteString(head)
	for _, v := range vols {
		b.WriteString("vol " + v + "\n")
	}
	n := uint64(b.Len())
	if o.end+n > ownerCap {
		return drivers.Errorf(drivers.ClassHost, "write owner record "+o.vol.Name, "full (%d bytes)", ownerCap)
	}
	wctx, cancel := context.WithTimeout(ctx, ownerTimeout)
	defer cancel()
	if err := do0(wctx, h.c, "write owner record "+o.vol.Name, func(l *golibvirt.Libvirt) error {
		return l.StorageVolUpload(o.vol, strings.NewReader(b.String()), o.end, n, 0)
	}); err != nil {
		return err
	}
	o.end += n
	return nil
}

// readOwner reads at most ownerCap bytes of an owner record.
func (h *Host) readOwner(ctx context.Context, v golibvirt.StorageVol) ([]byte, error) {
	if h.local && strings.HasPrefix(v.Key, "/") {
		if f, err := os.Open(v.Key); err == nil {
			defer f.Close()
			return io.ReadAll(io.LimitReader(f, ownerCap))
		}
	}
	rctx, cancel := context.WithTimeout(ctx, ownerTimeout)
	defer cancel()
	return do(rctx, h.c, "read owner record "+v.Name, func(l *golibvirt.Libvirt) ([]byte, error) {
		var buf bytesBuffer
		err := l.StorageVolDownload(v, &buf, 0, ownerCap, 0)
		return buf.b, err
	})
}
