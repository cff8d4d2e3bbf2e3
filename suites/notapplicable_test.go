package suites

import "testing"

// The runner (NotApplicable, with the host's hypervisor) and plan check
// (resolve.NotFor, with the driver's) word a check that does not apply the
// same way, the existing driver's "unknown" hypervisor included.
func TestNotApplicableWording(t *testing.T) {
	hv := Check{ID: "hyperv.kvp", Hypervisors: []string{"hyperv"}, OS: []string{"linux"}}
	for _, c := range []struct{ hypervisor, os, want string }{
		{"hyperv", "linux", ""},
		{"kvm", "linux", "not for kvm guests (hyperv only)"},
		{"unknown", "linux", "not for guests of an unknown hypervisor (hyperv only)"},
		{"hyperv", "windows", "not for windows guests (linux only)"},
	} {
		if got := NotApplicable(hv, c.hypervisor, c.os); got != c.want {
			t.Errorf("NotApplicable(%s, %s) = %q, want %q", c.hypervisor, c.os, got, c.want)
		}
	}
	if got := GuestsOn("kvm", "qemu"); got != "kvm/qemu guests" {
		t.Errorf("GuestsOn(kvm, qemu) = %q", got)
	}
}
