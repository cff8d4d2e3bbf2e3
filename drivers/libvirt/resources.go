package libvirt

import (
	"context"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/virtcert/virtcert/drivers"
)

var _ drivers.HostResources = (*Host)(nil)

// allCells is VIR_NODE_MEMORY_STATS_ALL_CELLS: the whole node.
const allCells = -1

// Resources reports the node's memory and CPUs: virNodeGetMemoryStats
// for the whole node (total, and free + buffers + cached: the kernel gives
// the page cache back to a guest that needs it), virNodeGetInfo for the
// logical CPUs and, when the stats are missing, the total with
// virNodeGetFreeMemory. NodeGetInfo's memory alone can be one NUMA
// node's, less than the machine has.
func (h *Host) Resources(ctx context.Context) (drivers.Resources, error) {
	return do(ctx, h.c, "node info", func(l *golibvirt.Libvirt) (drivers.Resources, error) {
		_, memKiB, cpus, _, _, _, _, _, err := l.NodeGetInfo()
		if err != nil {
			return drivers.Resources{}, err
		}
		if stats, err := memoryStats(l); err == nil {
			if total, free := memKiBOf(stats); total > 0 && free > 0 {
				return nodeResources(total, cpus, free), nil
			}
		}
		b, err := l.NodeGetFreeMemory()
		if err != nil {
			return drivers.Resources{}, err
		}
		return nodeResources(memKiB, cpus, b/1024), nil
	})
}

// memoryStats reads the whole node's memory statistics (KiB).
func memoryStats(l *golibvirt.Libvirt) ([]golibvirt.NodeGetMemoryStats, error) {
	_, n, err := l.NodeGetMemoryStats(0, allCells, 0)
	if err != nil || n == 0 {
		return nil, err
	}
	stats, _, err := l.NodeGetMemoryStats(n, allCells, 0)
	return stats, err
}

// memKiBOf sums the stats into the total and the reclaimable free
// memory (free, buffers, cached), in KiB.
func memKiBOf(stats []golibvirt.NodeGetMemoryStats) (total, free uint64) {
	for _, s := range stats {
		switch s.Field {
		case "total":
			total = s.Value
		case "free", "buffers", "cached":
			free += s.Value
		}
	}
	return total, free
}

// nodeResources converts libvirt's units (KiB) to the report's (MiB);
// free never exceeds the total.
func nodeResources(memKiB uint64, cpus int32, freeKiB uint64) drivers.Resources {
	total := int64(memKiB / 1024)
	return drivers.Resources{TotalMemoryMB: total, FreeMemoryMB: min(int64(freeKiB/1024), total), CPUs: int(cpus)}
}
