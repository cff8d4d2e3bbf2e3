package hyperv

import (
	"testing"

	"github.com/virtcert/virtcert/drivers/hyperv"
)

// TestGermanHostJudgedAlike: the integration-service verdicts on a German
// host (localised names and status texts, same Id GUIDs and status enum)
// are step for step the verdicts on an English one.
func TestGermanHostJudgedAlike(t *testing.T) {
	const vm = `Microsoft:1D5A1C5E-0000-4000-8000-000000000001\`
	svc := func(guid, name, desc string) hyperv.IntegrationService {
		return hyperv.IntegrationService{Id: vm + guid, Name: name, Enabled: true, PrimaryStatus: "Ok", PrimaryStatusDescription: desc}
	}
	en := Host{Services: []hyperv.IntegrationService{
		svc("84EAAE65-2F2E-45F5-9BB5-0E857DC8EB47", "Heartbeat", "OK"),
		svc(hyperv.ServiceKVP, "Key-Value Pair Exchange", "OK"),
		svc("9F8233AC-BE49-4C79-8EE3-E7E1985B2077", "Shutdown", "OK"),
		svc("2497F4DE-E9FA-4204-80E4-4B75C46419C0", "Time Synchronization", "OK"),
	}}
	de := Host{Services: []hyperv.IntegrationService{
		svc("84EAAE65-2F2E-45F5-9BB5-0E857DC8EB47", "Takt", "Ok (de)"),
		svc(hyperv.ServiceKVP, "Austausch von Schlüssel-Wert-Paaren", "Ok (de)"),
		svc("9F8233AC-BE49-4C79-8EE3-E7E1985B2077", "Herunterfahren des Betriebssystems", "Ok (de)"),
		svc("2497F4DE-E9FA-4204-80E4-4B75C46419C0", "Zeitsynchronisierung", "Ok (de)"),
	}}
	g := Guest{}
	ve, vd := JudgeIntegrationServices(g, en), JudgeIntegrationServices(g, de)
	if len(ve.Items) != len(vd.Items) || len(ve.Items) < 9 {
		t.Fatalf("items: en %d, de %d", len(ve.Items), len(vd.Items))
	}
	passes := 0
	for i := range ve.Items {
		if ve.Items[i].Step != vd.Items[i].Step || ve.Items[i].OK != vd.Items[i].OK {
			t.Errorf("item %d: en %+v, de %+v", i, ve.Items[i], vd.Items[i])
		}
		if vd.Items[i].OK {
			passes++
		}
	}
	if passes < 8 {
		t.Fatalf("only %d German items passed: %+v", passes, vd.Items)
	}
}
