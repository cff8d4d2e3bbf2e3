package libvirt

import (
	"os"
	"reflect"
	"testing"

	"libvirt.org/go/libvirtxml"

	"github.com/virtcert/virtcert/drivers"
)

// TestRunningConfig reads memory, vCPUs and NIC models from domain XML as
// libvirt returns it (the live definition is in KiB with current vCPUs).
func TestRunningConfig(t *testing.T) {
	for file, want := range map[string]drivers.GuestConfig{
		"domain-tiny.xml":   {MemoryMB: 256, CPUs: 1, NICModels: []string{"virtio"}},
		"domain-faulty.xml": {MemoryMB: 256, CPUs: 1, NICModels: []string{"e1000"}},
	} {
		b, err := os.ReadFile("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		d, err := unmarshalDomain(string(b))
		if err != nil {
			t.Fatal(err)
		}
		if got := runningConfig(d); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, want %+v", file, got, want)
		}
	}
	live := &libvirtxml.Domain{Memory: &libvirtxml.DomainMemory{Value: 393216, Unit: "KiB"},
		VCPU: &libvirtxml.DomainVCPU{Value: 4, Current: 2}}
	if got := runningConfig(live); got.MemoryMB != 384 || got.CPUs != 2 || got.NICModels != nil {
		t.Errorf("live KiB definition: %+v", got)
	}
	if toKiB(1, "GiB") != 1<<20 || toKiB(1024, "") != 1024 || toKiB(2048, "bytes") != 2 {
		t.Error("toKiB")
	}
}
