// Package pvdrivers holds the paravirtual driver checks: every virtio or
// VMBus device bound, the expected modules loaded or built in, in the
// initramfs, the guest agent and the balloon. (The directory is not named
// "drivers" to keep it apart from the host driver SPI package.)
package pvdrivers

import (
	"cmp"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/parse"
)

func init() {
	linux := []string{"linux"}
	suites.Register(suites.Check{
		ID: "drivers.paravirtual", Keys: []string{"bus", "required"}, Area: "drivers", Priority: 1,
		Title: "Every paravirtual device is bound to its driver",
		Doc: "Lists /sys/bus/virtio/devices and /sys/bus/vmbus/devices with their device IDs and driver " +
			"links. Every device on the profile's bus must be bound, and each entry of the profile's " +
			"required list (driver alternatives, e.g. virtio_blk|virtio_scsi) must be bound to a device. " +
			"An emulated NIC (e1000) fails because no virtio-net device exists; a driver that never " +
			"loaded fails because its device stays unbound.",
		OS: linux, Timeout: 2 * time.Minute, Run: runParavirtual, Reads: []string{suites.ProbePVDevices},
	})
	suites.Register(suites.Check{
		ID: "drivers.modules", Keys: []string{"required"}, Area: "drivers", Priority: 1,
		Title: "Paravirtual driver modules loaded or built in",
		Doc:   "Each required module (profile) must be in /proc/modules, in /sys/module, or in the kernel's modules.builtin.",
		OS:    linux, Timeout: 2 * time.Minute, Run: runModules, Reads: []string{suites.ProbeModules},
	})
	suites.Register(suites.Check{
		ID: "drivers.initramfs", Keys: []string{"required"}, Area: "drivers", Priority: 2,
		Title: "Root-disk drivers in the initramfs",
		Doc: "Lists the initramfs with lsinitramfs (Debian) or lsinitrd (RHEL); each required module " +
			"must be in it unless built into the kernel. SKIPs on a guest with no initramfs image to " +
			"inspect (one that runs from its initramfs by direct kernel boot).",
		OS: linux, Timeout: 4 * time.Minute, Run: runInitramfs, Reads: []string{ProbeInitramfs},
	})
	suites.Register(suites.Check{
		ID: "drivers.guest-agent", Area: "drivers", Priority: 2,
		Title: "QEMU guest agent running and answering the host",
		Doc: "The qemu-ga process runs and its virtio port org.qemu.guest_agent.0 exists; the host " +
			"reads the guest time through the agent (GuestClock capability), which proves the host " +
			"to agent path end to end; a running agent that misses an ask is asked again (at most 4 asks, " +
			"3 s apart) and the verdict names the retry it answered on. SKIPs when the agent is not installed in the guest (no qemu-ga " +
			"binary, systemd unit or init script, and no qemu-ga process); FAILs when it is installed " +
			"but not running or not answering; a host or libvirt error asking the agent is an ERROR.",
		Hypervisors: []string{"kvm", "qemu"}, OS: linux, Needs: []string{"GuestClock"},
		Timeout: 2 * time.Minute, Run: runGuestAgent, Reads: []string{ProbeAgent},
	})
	suites.Register(suites.Check{
		ID: "drivers.balloon", Keys: []string{"driver", "min_memtotal_ratio"}, Area: "drivers", Priority: 2,
		Title: "Memory balloon driver bound; MemTotal matches the memory the host gives",
		Doc: "The balloon device (virtio balloon, or Hyper-V Dynamic Memory) is bound to the profile's " +
			"driver (SKIP when the domain defines no balloon device), and MemTotal is at least min_memtotal_ratio of the memory the " +
			"host reports it runs the guest with (RunningConfig; not judged, with the reason, when the host cannot say, as for an " +
			"existing machine: the plan's memory_mb is never an expectation). Live " +
			"resizing is not exercised: the host driver SPI has no balloon capability yet.",
		OS: linux, Timeout: 2 * time.Minute, Run: runBalloon, Reads: []string{ProbeBalloon},
	})
}

func alternatives(s string) []string { return strings.Split(s, "|") }

// JudgeParavirtual checks binding on bus and the required drivers.
// nicModel is the NIC model the domain defines ("" = paravirtual default).
func JudgeParavirtual(devs []parse.Device, bus string, required []string, nicModel string) suites.Verdict {
	var v suites.Verdict
	bound := map[string][]string{}
	var onBus int
	for _, d := range devs {
		if d.Bus != bus {
			continue
		}
		onBus++
		desc := fmt.Sprintf("%s %s (%s, id %s)", d.Bus, d.Name, d.Kind, d.ID)
		exp := "bound to a driver"
		if d.Want != "" {
			exp = "bound to " + d.Want
		}
		act := "unbound (no driver link)"
		if d.Bound() {
			act = "bound to " + d.Driver
			bound[d.Driver] = append(bound[d.Driver], d.Name)
		}
		v.Add("device "+desc, d.Bound(), exp, act, "", "")
	}
	if onBus == 0 {
		v.Add("devices on /sys/bus/"+bus, false, "paravirtual devices present", "no "+bus+" devices at all", "", "bus")
	}
	if nicModel != "" && !paravirtualNIC(nicModel) {
		v.Add("NIC model the host defines", false, "a paravirtual NIC", "emulated NIC model "+nicModel, "", "")
	}
	for _, req := range required {
		var hits []string
		for _, alt := range alternatives(req) {
			for _, n := range bound[alt] {
				hits = append(hits, n+"->"+alt)
			}
		}
		act := "no device bound to " + req
		var unbound []string
		for _, d := range devs {
			if d.Bus == bus && !d.Bound() && in(alternatives(req), d.Want) {
				unbound = append(unbound, d.Name)
			}
		}
		if len(unbound) > 0 {
			act += " (device present but unbound: " + strings.Join(unbound, ", ") + ")"
		} else if len(hits) == 0 {
			act += " (no such device: the domain does not define it, or defines an emulated one)"
		}
		if len(hits) > 0 {
			act = strings.Join(hits, ", ")
		}
		v.Add("required paravirtual driver "+req, len(hits) > 0, "a device bound to "+req, act, "", "required")
	}
	return v
}

func in(xs []string, x string) bool {
	for _, y := range xs {
		if y == x && x != "" {
			return true
		}
	}
	return false
}

func runParavirtual(t *suites.T) {
	r := t.Run("list paravirtual devices and their drivers", suites.ProbePVDevices)
	devs := parse.BusDevices(string(r.Stdout))
	hc, unknown := t.RunningConfig()
	v := JudgeParavirtual(devs, t.String("bus"), t.Strings("required"), emulatedNIC(hc.NICModels))
	if hc.NICModels == nil {
		if unknown == "" {
			unknown = "the host does not name its NIC models"
		}
		v.NotJudged("NIC models the host defines", "paravirtual NICs", unknown, "")
	}
	t.Judge(v)
}

// emulatedNIC returns the first NIC model the host reports that is not
// paravirtual, else "" (every NIC paravirtual, or none named).
func emulatedNIC(models []string) string {
	for _, m := range models {
		if m != "" && !paravirtualNIC(m) {
			return m
		}
	}
	return ""
}

func paravirtualNIC(m string) bool {
	return strings.Contains(m, "virtio") || strings.Contains(m, "netvsc") || strings.Contains(m, "synthetic")
}

// ModuleFacts is the parsed modules probe.
type ModuleFacts struct {
	Loaded  map[string]parse.Module
	Present map[string]bool // /sys/module entries (loaded or built in with parameters)
	Builtin map[string]bool
	Kernel  string
}

// ParseModules parses suites.ProbeModules output.
func ParseModules(out string) ModuleFacts {
	s := parse.Sections(out)
	return ModuleFacts{
		Loaded:  parse.Modules(s["proc-modules"]),
		Present: parse.ModuleSet(s["sys-module"]),
		Builtin: parse.ModuleSet(s["builtin"]),
		Kernel:  parse.FirstLine(s["uname"]),
	}
}

// JudgeModules checks each required module (alternatives with |).
func JudgeModules(f ModuleFacts, required []string) suites.Verdict {
	var v suites.Verdict
	for _, req := range required {
		var how []string
		for _, alt := range alternatives(req) {
			n := parse.ModName(alt)
			switch {
			case f.Builtin[n]:
				how = append(how, n+" built in")
			case f.Loaded[n].Name != "":
				how = append(how, fmt.Sprintf("%s loaded (refs %d)", n, f.Loaded[n].Refs))
			case f.Present[n]:
				how = append(how, n+" in /sys/module")
			}
		}
		act := "not loaded and not built in (kernel " + f.Kernel + ")"
		if len(how) > 0 {
			act = strings.Join(how, ", ")
		}
		v.Add("module "+req, len(how) > 0, "loaded or built in", act, "", "required")
	}
	return v
}

func runModules(t *suites.T) {
	r := t.Run("list modules", suites.ProbeModules)
	t.Judge(JudgeModules(ParseModules(string(r.Stdout)), t.Strings("required")))
}

// ProbeInitramfs lists the modules in the running kernel's initramfs.
var ProbeInitramfs = suites.Sections("initramfs",
	[2]string{"uname", `uname -r`},
	[2]string{"builtin", `cat "/lib/modules/$(uname -r)/modules.builtin"`},
	[2]string{"boot", `ls /boot`},
	[2]string{"list", `k=$(uname -r); if command -v lsinitramfs >/dev/null 2>&1; then echo 'tool=lsinitramfs'; $S lsinitramfs "/boot/initrd.img-$k" | grep '\.ko'; ` +
		`elif command -v lsinitrd >/dev/null 2>&1; then echo 'tool=lsinitrd'; $S lsinitrd | grep '\.ko'; else echo 'tool=none'; fi`},
)

// InitramfsFacts is the parsed initramfs probe.
type InitramfsFacts struct {
	Kernel   string
	Builtin  map[string]bool
	Tool     string // lsinitramfs, lsinitrd, none
	HasImage bool   // an initrd/initramfs for this kernel in /boot
	Modules  map[string]bool
}

// ParseInitramfs parses ProbeInitramfs output.
func ParseInitramfs(out string) InitramfsFacts {
	s := parse.Sections(out)
	f := InitramfsFacts{Kernel: parse.FirstLine(s["uname"]), Builtin: parse.ModuleSet(s["builtin"])}
	for _, n := range parse.Words(s["boot"]) {
		if (strings.HasPrefix(n, "initrd") || strings.HasPrefix(n, "initramfs")) && f.Kernel != "" && strings.Contains(n, f.Kernel) {
			f.HasImage = true
		}
	}
	list := s["list"]
	if l := parse.FirstLine(list); strings.HasPrefix(l, "tool=") {
		f.Tool = strings.TrimPrefix(l, "tool=")
	}
	f.Modules = parse.ModuleSet(list)
	return f
}

// JudgeInitramfs checks each required module is in the initramfs or built in.
func JudgeInitramfs(f InitramfsFacts, required []string) suites.Verdict {
	var v suites.Verdict
	if f.Tool == "none" || f.Tool == "" || !f.HasImage {
		v.Skip = fmt.Sprintf("no initramfs to inspect (initramfs image for kernel %q in /boot: %v; tool: %s): the guest runs from its initramfs or has none", f.Kernel, f.HasImage, f.Tool)
		return v
	}
	for _, req := range required {
		var how []string
		for _, alt := range alternatives(req) {
			n := parse.ModName(alt)
			if f.Builtin[n] {
				how = append(how, n+" built in")
			} else if f.Modules[n] {
				how = append(how, n+" in initramfs")
			}
		}
		act := fmt.Sprintf("absent from the initramfs (%s, %d modules) and not built in", f.Tool, len(f.Modules))
		if len(how) > 0 {
			act = strings.Join(how, ", ")
		}
		v.Add("initramfs module "+req, len(how) > 0, "in the initramfs or built in", act, "", "required")
	}
	return v
}

func runInitramfs(t *suites.T) {
	r := t.Run("list initramfs modules", ProbeInitramfs)
	t.Judge(JudgeInitramfs(ParseInitramfs(string(r.Stdout)), t.Strings("required")))
}

// agentSearched ends the "installed" section: its presence proves the
// search ran (a transcript or probe without it is judged as installed).
const agentSearched = "searched: done"

// agentPaths are where qemu-guest-agent installs itself: the binary
// (Debian /usr/sbin, RHEL /usr/bin), its systemd unit or its init script.
var agentPaths = []string{"/usr/sbin/qemu-ga", "/usr/bin/qemu-ga", "/usr/local/bin/qemu-ga",
	"/usr/lib/systemd/system/qemu-guest-agent.service", "/lib/systemd/system/qemu-guest-agent.service",
	"/etc/init.d/qemu-guest-agent"}

// ProbeAgent looks for the QEMU guest agent: installed, running, its port.
var ProbeAgent = suites.Sections("agent",
	[2]string{"installed", `for f in "$(command -v qemu-ga 2>/dev/null)" ` + strings.Join(agentPaths, " ") +
		`; do [ -n "$f" ] && [ -e "$f" ] && echo "$f"; done; echo '` + agentSearched + `'`},
	[2]string{"pid", `pidof qemu-ga || pgrep -x qemu-ga || echo 'not running'`},
	[2]string{"ports", `ls /dev/virtio-ports/`},
)

// AgentFacts is the parsed agent probe plus the host-side ping.
type AgentFacts struct {
	// Installed lists the agent's files found; Searched says the probe
	// looked (so an empty Installed means "not installed").
	Installed []string
	Searched  bool
	PIDs      []string
	Ports     []string
	PingErr   error
	// PingSkew is guest time through the agent minus the controller's.
	PingSkew time.Duration
	// PingTries is how many times the host asked (retries are never
	// hidden: the verdict names them); Earlier holds the failed tries'
	// errors.
	PingTries int
	Earlier   []string
}

// ParseAgent parses ProbeAgent output.
func ParseAgent(out string) AgentFacts {
	s := parse.Sections(out)
	var f AgentFacts
	for _, l := range strings.Split(s["installed"], "\n") {
		switch l = strings.TrimSpace(l); {
		case l == agentSearched:
			f.Searched = true
		case strings.HasPrefix(l, "/"):
			f.Installed = append(f.Installed, l)
		}
	}
	for _, w := range parse.Words(s["pid"]) {
		if _, err := strconv.Atoi(w); err == nil {
			f.PIDs = append(f.PIDs, w)
		}
	}
	if !parse.Missing(s["ports"]) {
		f.Ports = parse.Words(s["ports"])
	}
	return f
}

// NotInstalled says why the check SKIPs ("" when the agent is installed,
// running, or the probe did not look).
func (f AgentFacts) NotInstalled() string {
	if !f.Searched || len(f.Installed) > 0 || len(f.PIDs) > 0 {
		return ""
	}
	return "the QEMU guest agent is not installed in the guest (no qemu-ga in PATH nor " +
		strings.Join(agentPaths, ", ") + "; no qemu-ga process)"
}

// JudgeAgent checks the agent process, its port and the host ping.
func JudgeAgent(f AgentFacts) suites.Verdict {
	var v suites.Verdict
	if why := f.NotInstalled(); why != "" {
		v.Skip = why
		return v
	}
	v.Add("qemu-ga process", len(f.PIDs) > 0, "running", fmt.Sprintf("pids %v", f.PIDs), "", "")
	v.Add("virtio port org.qemu.guest_agent.0", in(f.Ports, "org.qemu.guest_agent.0"), "present", fmt.Sprintf("ports %v", f.Ports), "", "")
	act := fmt.Sprintf("answered (guest time %+.3fs from the controller)", f.PingSkew.Seconds())
	if f.PingTries > 1 {
		act = fmt.Sprintf("answered on retry %d (ask %d of at most %d; guest time %+.3fs from the controller); earlier: %s",
			f.PingTries-1, f.PingTries, agentPing.attempts, f.PingSkew.Seconds(), strings.Join(f.Earlier, " | "))
	}
	if f.PingErr != nil {
		act = fmt.Sprintf("no answer in %d ask(s): %s", max(f.PingTries, 1), f.PingErr.Error())
	}
	v.Add("host reads the guest time through the agent", f.PingErr == nil, "an answer", act, "", "")
	return v
}

func runGuestAgent(t *suites.T) {
	gc := suites.Need[drivers.GuestClock](t, "GuestClock")
	r := t.Run("look for qemu-ga", ProbeAgent)
	f := ParseAgent(string(r.Stdout))
	if why := f.NotInstalled(); why != "" {
		// Nothing to ask: the host would only see "agent not connected".
		t.Skipf("%s", why)
	}
	pingAgent(t, gc, &f)
	t.Judge(JudgeAgent(f))
}

// agentPing bounds the host's asks of the agent. libvirt waits a few
// seconds for the agent's answer; on a loaded host running emulated
// guests a healthy agent can miss one such window, so an agent that does
// not answer is asked again, up to attempts times, pause apart (tests
// shorten it). Only a running qemu-ga is asked again: a stopped one
// cannot answer.
var agentPing = struct {
	attempts int
	pause    time.Duration
}{4, 3 * time.Second}

// pingAgent asks the host for the guest's time through the agent until
// it answers or the asks run out, recording every ask as a host step.
func pingAgent(t *suites.T, gc drivers.GuestClock, f *AgentFacts) {
	attempts := 1
	if len(f.PIDs) > 0 {
		attempts = agentPing.attempts
	}
	t.Retry(attempts, agentPing.pause, func(try int) error {
		step := "host: GuestClock.GuestTime (guest-get-time through the agent)"
		if try > 1 {
			step += fmt.Sprintf(", retry %d", try-1)
		}
		start := time.Now()
		gt, err := gc.GuestTime(t.Context())
		rtt := time.Since(start)
		t.HostStep(step, "GuestClock.GuestTime (guest-get-time through the agent)", "", err, rtt)
		f.PingErr, f.PingTries = err, try
		if err == nil {
			f.PingSkew = gt.Sub(start.Add(rtt / 2))
			return nil
		}
		if drivers.ClassOf(err) == drivers.ClassHost {
			// The driver classes an agent that does not answer as the
			// guest's fault; anything else is the host or the connection.
			t.Errorf("the host could not ask the guest agent: %v", err)
		}
		f.Earlier = append(f.Earlier, err.Error())
		return err
	})
}

// BalloonFacts is the parsed balloon probe.
type BalloonFacts struct {
	Devices    []parse.Device
	MemTotalKB int64
}

// ProbeBalloon is the device list plus /proc/meminfo.
const ProbeBalloon = `: vc=balloon; ` + suites.ProbePVDevices + `; echo '@@@ meminfo'; cat /proc/meminfo`

// ParseBalloon parses ProbeBalloon output.
func ParseBalloon(out string) BalloonFacts {
	f := BalloonFacts{Devices: parse.BusDevices(out)}
	mi := parse.KeyValues(parse.Sections(out)["meminfo"], ":")
	if fs := strings.Fields(mi["MemTotal"]); len(fs) > 0 {
		f.MemTotalKB, _ = strconv.ParseInt(fs[0], 10, 64)
	}
	return f
}

// JudgeBalloon checks the balloon device binding and MemTotal against the
// memory the host reports it runs the guest with (hostMB; 0: unknown, that
// step is not judged, with unknown as the reason). Never the plan's
// default: that describes what the harness provisions, not a machine it
// did not provision.
func JudgeBalloon(f BalloonFacts, driver string, minRatio float64, hostMB int, unknown string) suites.Verdict {
	var v suites.Verdict
	var devs []string
	ok := false
	for _, d := range f.Devices {
		if d.Kind != "balloon" {
			continue
		}
		devs = append(devs, d.Name+"->"+cmp.Or(d.Driver, "unbound"))
		if d.Driver == driver {
			ok = true
		}
	}
	sort.Strings(devs)
	if len(devs) == 0 {
		v.Skip = "the guest has no balloon device (the domain defines none, or Dynamic Memory is off): nothing to bind"
		return v
	}
	act := strings.Join(devs, ", ")
	v.Add("balloon device bound", ok, "bound to "+driver, act, "", "driver")
	step := "MemTotal against the memory the host runs the guest with"
	if hostMB <= 0 {
		if unknown == "" {
			unknown = "the host reported no memory size"
		}
		v.NotJudged(step, fmt.Sprintf("%.0f%%..100%% of the guest's memory", minRatio*100), fmt.Sprintf("%s (guest MemTotal %d kB)", unknown, f.MemTotalKB), "min_memtotal_ratio")
		return v
	}
	ratio := float64(f.MemTotalKB) / 1024 / float64(hostMB)
	v.Add(step, ratio >= minRatio && ratio <= 1.0001,
		fmt.Sprintf("%.0f%%..100%% of %d MiB (host report)", minRatio*100, hostMB),
		fmt.Sprintf("%d kB (%.1f%%)", f.MemTotalKB, ratio*100), fmt.Sprintf(">= %.2f", minRatio), "min_memtotal_ratio")
	return v
}

func runBalloon(t *suites.T) {
	r := t.Run("list balloon device and memory", ProbeBalloon)
	hc, unknown := t.RunningConfig()
	t.Judge(JudgeBalloon(ParseBalloon(string(r.Stdout)), t.String("driver"), t.Float("min_memtotal_ratio"), hc.MemoryMB, unknown))
}
