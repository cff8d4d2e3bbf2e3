package hyperv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/drivers/hyperv"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
)

func init() {
	for _, c := range []suites.Check{
		{ID: "hyperv.kvp", Priority: 1, Title: "KVP exchange: guest daemon running, host items match the guest",
			Doc: "Guest: the Data Exchange VMBus device is bound, hv_kvp_daemon/hypervkvpd runs with /dev/vmbus/hv_kvp and its pool files. " +
				"Host: Msvm_KvpExchangeComponent.GuestIntrinsicExchangeItems carry the guest's host name, os-release NAME, kernel release and the IPv4 address the harness uses.",
			Needs: []string{"KVP"}, Timeout: 3 * time.Minute, Run: runKVP},
		{ID: "hyperv.heartbeat", Priority: 1, Title: "Heartbeat seen by the host",
			Doc:   "Host: (Get-VM).Heartbeat is OkApplicationsHealthy or OkApplicationsUnknown and the Heartbeat integration service reports OK; guest: the Heartbeat VMBus device is bound to hv_utils.",
			Needs: []string{"Heartbeat"}, Timeout: 2 * time.Minute, Run: runHeartbeat},
		{ID: "hyperv.fcopy", Priority: 2, Title: "Host-to-guest file copy (Copy-VMFile)",
			Doc:   "Host: Copy-VMFile of 64 KiB of random bytes through the Guest Service Interface; guest: hv_fcopy_daemon runs and sha256sum of the copy equals the host's.",
			Needs: []string{"CopyFile"}, Timeout: 3 * time.Minute, Run: runFcopy},
		{ID: "hyperv.vss", Priority: 2, Title: "VSS daemon active for host-side backups",
			Doc:   "Guest: the Backup VMBus device is bound and hv_vss_daemon/hypervvssd runs with /dev/vmbus/hv_vss; host: the VSS integration service reports OK.",
			Needs: []string{"IntegrationServices"}, Timeout: 2 * time.Minute, Run: runVSS},
		{ID: "hyperv.integration-services", Priority: 1, Title: "Integration services enabled and answering",
			Doc:   "Host: Get-VMIntegrationService: the default services are enabled and every enabled one reports OK; guest: each has its VMBus device bound.",
			Needs: []string{"IntegrationServices"}, Timeout: 2 * time.Minute, Run: runIntegration},
	} {
		c.Area = "hyperv"
		c.Hypervisors = []string{"hyperv"}
		c.OS = []string{"linux"}
		suites.Register(c)
	}
}

// kvpWait bounds how long hyperv.kvp polls the host for the guest's items.
var kvpWait = 60 * time.Second

// gather reads the guest side and starts the host side.
func gather(t *suites.T) (Guest, Host) {
	r := t.Run("guest: integration service daemons and KVP facts", ProbeHyperV)
	pv := t.Run("guest: VMBus devices", suites.ProbePVDevices)
	g := ParseGuest(string(r.Stdout), string(pv.Stdout))
	hi := t.Target.HostInfo
	h := Host{Simulated: hi.Nature == drivers.NatureSimulated, Notes: hi.Notes, Address: t.Target.Address}
	if h.Simulated {
		t.Evidence(reports.Evidence{Step: "host is simulated", Output: "this host is simulated; its Hyper-V answers are not a real Hyper-V's: " + strings.Join(hi.Notes, "; ")})
	}
	return g, h
}

// hostCall runs one host read; a broken host is ERROR, never FAIL.
func hostCall[V any](t *suites.T, step, command string, f func(context.Context) (V, error)) V {
	start := time.Now()
	v, err := f(t.Context())
	out := ""
	if b, jerr := json.Marshal(v); jerr == nil && err == nil {
		out = string(b)
	}
	t.HostStep(step, command, out, err, time.Since(start))
	if err != nil {
		t.Errorf("%s: %v", step, err)
	}
	return v
}

func services(t *suites.T, h *Host) {
	is := suites.Need[hyperv.IntegrationServices](t, "IntegrationServices (Get-VMIntegrationService)")
	h.Services = hostCall(t, "host: integration services", "Get-VMIntegrationService", is.IntegrationServices)
}

func runKVP(t *suites.T) {
	kv := suites.Need[hyperv.KVP](t, "KVP (Msvm_KvpExchangeComponent)")
	g, h := gather(t)
	if _, ok := t.Target.Guest.(hyperv.IntegrationServices); ok {
		services(t, &h)
	}
	// The daemon pushes its items shortly after it starts: poll (bounded)
	// until the OS items show up, rather than sleeping.
	// Waiting is pointless when the guest has no KVP daemon to push them.
	deadline := time.Now().Add(kvpWait)
	daemon, _ := g.running(kvpDaemon)
	for {
		h.KVP = hostCall(t, "host: KVP items", "Msvm_KvpExchangeComponent.GuestIntrinsicExchangeItems", kv.KVPItems)
		if h.KVP["OSName"] != "" || time.Now().After(deadline) || len(g.VMBus) == 0 || !daemon {
			break
		}
		select {
		case <-t.Context().Done():
			t.Errorf("cancelled while waiting for KVP items")
		case <-time.After(3 * time.Second):
		}
	}
	t.Judge(JudgeKVP(g, h))
}

func runHeartbeat(t *suites.T) {
	hb := suites.Need[hyperv.Heartbeat](t, "Heartbeat (Get-VM Heartbeat)")
	g, h := gather(t)
	if _, ok := t.Target.Guest.(hyperv.IntegrationServices); ok {
		services(t, &h)
	}
	h.Heartbeat = hostCall(t, "host: heartbeat", "(Get-VM).Heartbeat", hb.Heartbeat)
	t.Judge(JudgeHeartbeat(g, h))
}

func runVSS(t *suites.T) {
	g, h := gather(t)
	services(t, &h)
	t.Judge(JudgeVSS(g, h))
}

func runIntegration(t *suites.T) {
	g, h := gather(t)
	services(t, &h)
	t.Judge(JudgeIntegrationServices(g, h))
}

func runFcopy(t *suites.T) {
	cf := suites.Need[hyperv.CopyFile](t, "CopyFile (Copy-VMFile)")
	g, h := gather(t)
	if _, ok := t.Target.Guest.(hyperv.IntegrationServices); ok {
		services(t, &h)
	}
	payload := make([]byte, 64<<10)
	_, _ = rand.Read(payload)
	sum := sha256.Sum256(payload)
	var name [6]byte
	_, _ = rand.Read(name[:])
	c := Copy{WantSHA: hex.EncodeToString(sum[:]), GuestPath: "/tmp/virtcert-fcopy-" + hex.EncodeToString(name[:])}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, _ = t.Target.OS.Run(ctx, transportCmd(": vc=fcopy-clean; rm -f "+quote(c.GuestPath)))
	})
	start := time.Now()
	err := cf.CopyToGuest(t.Context(), strings.NewReader(string(payload)), c.GuestPath)
	ev := reports.Evidence{Step: "host: copy 64 KiB into the guest", Command: "host: Copy-VMFile -FileSource Host -DestinationPath " + c.GuestPath, Duration: time.Since(start)}
	var se *hyperv.ScriptError
	switch {
	case err == nil:
		ev.Output = "copied"
	case errors.As(err, &se):
		// Copy-VMFile ran and reported that the guest side did not take
		// the file: that is the guest's (or its integration services')
		// fault, judged below.
		c.Err = se.Message
		ev.Output = err.Error()
	default:
		ev.Output = err.Error()
		t.Evidence(ev)
		t.Errorf("host: Copy-VMFile: %v", err)
	}
	t.Evidence(ev)
	if c.Err == "" {
		r := t.Run("guest: sha256 of the copy", ": vc=fcopy-sum; sha256sum "+quote(c.GuestPath))
		c.GotSHA, _, _ = strings.Cut(strings.TrimSpace(string(r.Stdout)), " ")
	}
	t.Judge(JudgeFcopy(g, h, c))
}
