package windows

import "github.com/virtcert/virtcert/suites"

// The Hyper-V integration services as the guest runs them (the host's view
// is hyperv.integration-services).
func init() {
	for _, s := range []struct{ id, svc, title, why string }{
		{"heartbeat", "vmicheartbeat", "Hyper-V Heartbeat service is running", "the host's Heartbeat status comes from it"},
		{"kvp", "vmickvpexchange", "Hyper-V Data Exchange (KVP) service is running", "the host reads the guest's name and addresses through it"},
		{"timesync", "vmictimesync", "Hyper-V Time Synchronization service is running", "it feeds the VM IC time provider w32time uses"},
		{"vss", "vmicvss", "Hyper-V Volume Shadow Copy Requestor is running", "host backups need it for application-consistent checkpoints"},
	} {
		svc := s.svc
		reg(suites.Check{ID: "windows.hyperv." + s.id, Priority: 2, Title: s.title, Hypervisors: []string{"hyperv"},
			Doc: "Inventory: `Get-Service " + svc + "` (Status and StartType as text): Running; " + s.why + ".",
			Run: func(t *suites.T) {
				inv := inventory(t)
				var v suites.Verdict
				got, ok := inv.service(svc)
				act := "no such service"
				if ok {
					act = "Status " + got.Status + ", StartType " + got.StartType
				}
				v.Add("service "+svc, ok && got.Status == "Running", "Running", act, "", "")
				t.Judge(v)
			}})
	}
}
