package runner

import (
	"context"
	"maps"
	"slices"
	"sync"

	"golang.org/x/sync/semaphore"

	"github.com/virtcert/virtcert/drivers"
)

// Admission: a guest is provisioned only when its host has room for its
// memory. A host that reports its resources (drivers.HostResources) gets
// a semaphore weighted by MiB, sized by the memory it had free when the
// run first asked; each guest holds its memory from before Provision
// until after Destroy. A guest that cannot fit waits; one that could
// never fit is an error at once, not an endless wait. A host without the
// capability is bounded by the plan's parallel alone.

// admitter is one host's admission.
type admitter struct {
	res drivers.Resources
	sem *semaphore.Weighted
}

// need is one guest's claim on a host.
type need struct {
	host  string // the plan's host name
	guest string // for messages: "guest h1/tiny" or "peer guest h1/tiny"
	memMB int64
	cpus  int
}

// admission returns the admitter of host name (opened as h), or nil
// when the host does not report its resources. The first caller asks the
// host; a host that cannot answer is left to parallel (logged).
func (r *runner) admission(ctx context.Context, name string, h drivers.Host) *admitter {
	hr, ok := h.(drivers.HostResources)
	if !ok {
		return nil
	}
	r.hostsMu.Lock()
	hc := r.hosts[name]
	r.hostsMu.Unlock()
	if hc == nil {
		return nil
	}
	hc.admOnce.Do(func() {
		res, err := hr.Resources(ctx)
		if err != nil {
			r.log.Warn("host resources unknown: admission by parallel alone", "host", name, "err", err)
			return
		}
		r.log.Info("host resources", "host", name, "free_mb", res.FreeMemoryMB, "total_mb", res.TotalMemoryMB, "cpus", res.CPUs)
		hc.adm = &admitter{res: res, sem: semaphore.NewWeighted(res.FreeMemoryMB)}
	})
	return hc.adm
}

// fits says why the needs, taken together on one host, could never be
// admitted there: more vCPUs than the host has, or more memory than it
// has in all (the plan asks too much: ClassInput), or than it had free
// (the host is too busy: ClassHost). nil when they fit.
func (a *admitter) fits(host string, ns ...need) error {
	var mem int64
	for _, n := range ns {
		mem += n.memMB
		if n.cpus > a.res.CPUs {
			return drivers.Errorf(drivers.ClassInput, "admission", "%s asks for %d vCPUs; host %s has %d CPUs", n.guest, n.cpus, host, a.res.CPUs)
		}
	}
	what := ns[0].guest + " needs"
	if len(ns) > 1 {
		what = ns[0].guest + " and its peer need"
	}
	switch {
	case mem > a.res.TotalMemoryMB:
		return drivers.Errorf(drivers.ClassInput, "admission", "%s %d MiB; host %s has %d MiB in all", what, mem, host, a.res.TotalMemoryMB)
	case mem > a.res.FreeMemoryMB:
		return drivers.Errorf(drivers.ClassHost, "admission", "%s %d MiB; host %s had %d MiB free (of %d MiB) when the run began", what, mem, host, a.res.FreeMemoryMB, a.res.TotalMemoryMB)
	}
	return nil
}

// admitted is what admit holds, released after the guests are destroyed.
type admitted struct {
	mu    sync.Mutex
	held  []func()
	freed bool
}

func (a *admitted) add(f func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.held = append(a.held, f)
}

// release gives the memory back (idempotent).
func (a *admitted) release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.freed {
		return
	}
	a.freed = true
	for _, f := range slices.Backward(a.held) {
		f()
	}
}

// admit waits until every host named in needs has room for them, taking
// the hosts in name order (so two targets waiting for each other's hosts
// cannot deadlock). The needs must fit (fits); it returns ctx's error,
// holding nothing, when ctx ends while waiting.
func (r *runner) admit(ctx context.Context, id string, hosts map[string]drivers.Host, needs []need) (*admitted, error) {
	byHost := map[string]int64{}
	for _, n := range needs {
		byHost[n.host] += n.memMB
	}
	names := slices.Sorted(maps.Keys(byHost))
	got := &admitted{}
	for _, name := range names {
		a := r.admission(ctx, name, hosts[name])
		if a == nil || byHost[name] == 0 {
			continue
		}
		mem := byHost[name]
		if !a.sem.TryAcquire(mem) {
			r.progress(id, "waiting for room on host %s: %d MiB needed, %d MiB free when the run began", name, mem, a.res.FreeMemoryMB)
			if err := a.sem.Acquire(ctx, mem); err != nil {
				got.release()
				return nil, err
			}
		}
		got.add(func() { a.sem.Release(mem) })
	}
	return got, nil
}
