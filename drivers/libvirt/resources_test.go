package libvirt

import (
	"testing"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/virtcert/virtcert/drivers"
)

// TestNodeResources: libvirt's KiB become MiB; the page cache and buffers
// count as free (the kernel gives them back); free never exceeds total.
func TestNodeResources(t *testing.T) {
	stats := []golibvirt.NodeGetMemoryStats{{Field: "total", Value: 8 << 20}, {Field: "free", Value: 1 << 20},
		{Field: "buffers", Value: 512 << 10}, {Field: "cached", Value: 512 << 10}}
	total, free := memKiBOf(stats)
	got := nodeResources(total, 4, free)
	if want := (drivers.Resources{TotalMemoryMB: 8192, FreeMemoryMB: 2048, CPUs: 4}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := nodeResources(1<<20, 1, 2<<20); got.FreeMemoryMB != 1024 {
		t.Errorf("free %d MiB above the total 1024", got.FreeMemoryMB)
	}
}
