package hyperv

import (
	"context"

	"github.com/virtcert/virtcert/drivers"
)

var _ drivers.HostResources = (*Host)(nil)

// vmHost is resources.ps1's answer: Get-VMHost's MemoryCapacity (bytes)
// and LogicalProcessorCount, and Win32_OperatingSystem's
// FreePhysicalMemory (KiB).
type vmHost struct {
	MemoryCapacity        int64
	LogicalProcessorCount int
	FreePhysicalMemoryKB  int64
}

// Resources reports the host's memory and logical processors
// (Get-VMHost) and its free memory, asked each time.
func (h *Host) Resources(ctx context.Context) (drivers.Resources, error) {
	var v vmHost
	if err := h.run(ctx, "hyperv resources", "resources.ps1", nil, &v); err != nil {
		return drivers.Resources{}, err
	}
	return v.resources()
}

func (v vmHost) resources() (drivers.Resources, error) {
	total := v.MemoryCapacity >> 20
	if total <= 0 || v.LogicalProcessorCount <= 0 || v.FreePhysicalMemoryKB <= 0 {
		return drivers.Resources{}, drivers.Errorf(drivers.ClassHost, "hyperv resources", "Get-VMHost reported %d bytes of memory, %d logical processors, %d KiB free", v.MemoryCapacity, v.LogicalProcessorCount, v.FreePhysicalMemoryKB)
	}
	return drivers.Resources{TotalMemoryMB: total, FreeMemoryMB: min(v.FreePhysicalMemoryKB>>10, total), CPUs: v.LogicalProcessorCount}, nil
}
