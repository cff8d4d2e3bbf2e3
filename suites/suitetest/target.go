package suitetest

import (
	"context"
	"fmt"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
)

// HostInfo returns the host fingerprint a platform's transcripts were
// recorded on (as the drivers would report it).
func HostInfo(platform string) drivers.HostInfo {
	switch platform {
	case "hyperv-gen1", "hyperv-gen2":
		return drivers.HostInfo{Driver: "hyperv", Hypervisor: "hyperv", Accel: "hyperv", Nature: drivers.NatureReal}
	case "kvm":
		return drivers.HostInfo{Driver: "libvirt", Hypervisor: "kvm", Accel: "kvm", Nature: drivers.NatureReal}
	}
	return drivers.HostInfo{Driver: "libvirt", Hypervisor: "qemu", Accel: "tcg", Nature: drivers.NatureEmulated}
}

// Target builds a target for platform (also the built-in profile name)
// over x and g. Reconnect hands back x itself.
func Target(platform string, x transport.Transport, g drivers.Guest) (*suites.Target, error) {
	ps, err := suites.BuiltinProfiles()
	if err != nil {
		return nil, err
	}
	p := ps[platform]
	if p == nil {
		return nil, fmt.Errorf("no built-in profile %q", platform)
	}
	tg := &suites.Target{HostInfo: HostInfo(platform), Guest: g, OS: x, Profile: p, Address: "192.0.2.10",
		Spec: drivers.GuestSpec{Name: "transcript", MemoryMB: 2048, CPUs: 2}}
	tg.Reconnect = func(ctx context.Context) (transport.Transport, error) { return x, nil }
	return tg, nil
}

// Execute runs check id against tg through suites.Execute, as the runner
// does (including the N/A the runner decides for a check that does not apply).
func Execute(id string, tg *suites.Target) (*reports.Result, error) {
	c, ok := suites.Lookup(id)
	if !ok {
		return nil, fmt.Errorf("no check %s registered", id)
	}
	if ok, why := c.AppliesTo(tg.HostInfo.Hypervisor, "linux"); !ok {
		return &reports.Result{Check: id, Status: reports.NA, Reason: why}, nil
	}
	return suites.Execute(context.Background(), c, tg), nil
}

// Describe renders a result for test failure messages.
func Describe(r *reports.Result) string {
	s := fmt.Sprintf("%s %s: %s\n", r.Check, r.Status, r.Reason)
	for _, e := range r.Evidence {
		ok := ""
		if e.OK != nil {
			ok = fmt.Sprintf(" ok=%v", *e.OK)
		}
		s += fmt.Sprintf("  - %s%s exp=%q act=%q prof=%s\n", e.Step, ok, e.Expected, e.Actual, e.Profile)
		if e.Output != "" && len(e.Output) < 400 {
			s += "      " + e.Output + "\n"
		}
	}
	return s
}
