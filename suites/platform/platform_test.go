package platform

import (
	"strings"
	"testing"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/suites/parse"
)

func TestJudgeHypervisor(t *testing.T) {
	kvm := Facts{DetectVirt: "kvm", DmesgVendor: "KVM", DMIVendor: "QEMU", CPU: parse.ParseCPUInfo("flags : tsc hypervisor")}
	tcg := Facts{DMIVendor: "QEMU", DMIProduct: "Standard PC (i440FX + PIIX, 1996)", CPU: parse.ParseCPUInfo("flags : tsc")}
	hv := Facts{DetectVirt: "microsoft", DmesgVendor: "Microsoft Hyper-V", DMIVendor: "Microsoft Corporation", CPU: parse.ParseCPUInfo("flags : tsc hypervisor")}
	for _, c := range []struct {
		name   string
		f      Facts
		expect []string
		host   drivers.HostInfo
		fail   string
	}{
		{"kvm", kvm, []string{"kvm"}, drivers.HostInfo{Hypervisor: "kvm", Accel: "kvm"}, ""},
		{"tcg tiny (no detect-virt, no flag)", tcg, []string{"qemu", "none"}, drivers.HostInfo{Hypervisor: "kvm", Accel: "tcg"}, ""},
		{"hyperv", hv, []string{"microsoft"}, drivers.HostInfo{Hypervisor: "hyperv"}, ""},
		{"guest on KVM, driver says Hyper-V", kvm, []string{"microsoft"}, drivers.HostInfo{Hypervisor: "hyperv"}, "systemd-detect-virt"},
		{"profile right, host disagrees", kvm, []string{"kvm", "qemu"}, drivers.HostInfo{Hypervisor: "kvm", Accel: "tcg"}, "agrees with the host"},
		{"nothing readable", Facts{}, []string{"kvm"}, drivers.HostInfo{Hypervisor: "kvm"}, "any hypervisor signal"},
	} {
		v := JudgeHypervisor(c.f, c.expect, HostExpects(c.host), "test")
		if got := strings.Join(v.Failures(), "; "); (c.fail == "") != (got == "") || !strings.Contains(got, c.fail) {
			t.Errorf("%s: failures %q, want %q\n%s", c.name, got, c.fail, v)
		}
	}
}

func TestJudgeVMBus(t *testing.T) {
	if v := JudgeVMBus(Facts{VMBusVersion: "5.3"}, "4.0"); v.Failed() {
		t.Error(v)
	}
	if v := JudgeVMBus(Facts{VMBusVersion: "3.0"}, "4.0"); !v.Failed() {
		t.Error("old VMBus accepted")
	}
	if v := JudgeVMBus(Facts{VMBusVersion: "10.0"}, "4.0"); v.Failed() {
		t.Error("version compared as text")
	}
}
