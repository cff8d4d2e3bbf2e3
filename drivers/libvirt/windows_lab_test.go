package libvirt

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// TestLabWindowsDomainDefines: the lab's real libvirtd defines (with
// schema validation) the domain of a Windows image under TCG, with
// emulated devices and with paravirtual ones, then undefines it. No
// Windows boots: the XML is what is proven. About a second of lab time.
func TestLabWindowsDomainDefines(t *testing.T) {
	uri := labURI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := openLab(t, ctx, uri)
	for _, nic := range []string{"e1000e", "virtio"} {
		name := fmt.Sprintf("vc-winxml-%d-%s", os.Getpid(), nic)
		p := domainParams{Name: name, Type: "qemu", MemoryMB: 2048, CPUs: 1, OS: "windows", RTC: "localtime",
			Meta: runMeta{Label: "vc-winxml", Guest: name, Created: time.Now().UTC().Format(time.RFC3339Nano)},
			Pool: h.pool, Overlay: name + "-overlay.qcow2", Seed: name + "-seed.iso", Network: h.network, NICModel: nic,
			Console: "/dev/null"}
		if nic == "e1000e" {
			p.DiskBus = "sata"
		}
		x, err := domainXML(p)
		if err != nil {
			t.Fatal(err)
		}
		dom, err := do(ctx, h.c, "define", func(l *golibvirt.Libvirt) (golibvirt.Domain, error) {
			return l.DomainDefineXMLFlags(x, golibvirt.DomainDefineValidate)
		})
		if err != nil {
			t.Fatalf("%s: libvirtd refuses the Windows domain: %v\n%s", nic, err, x)
		}
		if _, err := do(ctx, h.c, "undefine", func(l *golibvirt.Libvirt) (struct{}, error) {
			return struct{}{}, l.DomainUndefineFlags(dom, golibvirt.DomainUndefineNvram)
		}); err != nil {
			t.Errorf("%s: undefine: %v", nic, err)
		}
	}
}
