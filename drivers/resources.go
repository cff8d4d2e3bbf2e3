package drivers

import "context"

// HostResources is an optional capability of a Host (not a Guest): it
// reports the host's memory and CPUs, so the runner admits a guest only
// when the host has room for it (admission) and never overcommits a host
// with `parallel`.
//
// Contract (checked by drivertest for drivers that declare it in
// Driver.HostCapabilities):
//   - Values are read from the host when asked (libvirt: node info and
//     free memory; Hyper-V: Get-VMHost), never from the plan.
//   - TotalMemoryMB and CPUs are > 0; 0 < FreeMemoryMB <= TotalMemoryMB.
//   - It honours ctx; a host that cannot be asked is a ClassHost error.
type HostResources interface {
	Resources(ctx context.Context) (Resources, error)
}

// Resources is a host's report of its capacity.
type Resources struct {
	// TotalMemoryMB is the host's physical memory in MiB.
	TotalMemoryMB int64 `json:"total_memory_mb"`
	// FreeMemoryMB is what guests can still be given now, in MiB
	// (libvirt: free memory of the node; Hyper-V: the host's available
	// memory).
	FreeMemoryMB int64 `json:"free_memory_mb"`
	// CPUs is the number of logical processors.
	CPUs int `json:"cpus"`
}
