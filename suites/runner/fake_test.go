package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
)

// fakeHost is an in-memory driver: it records what was created and
// destroyed, and fails on request.
type fakeHost struct {
	mu         sync.Mutex
	info       drivers.HostInfo
	live       map[string]*fakeGuest
	events     []string
	failProv   map[string]error // by guest-name substring
	noAddr     map[string]bool
	provDelay  time.Duration
	provCount  int
	closed     bool
	transientN int // fail this many Provision calls with a host error first
	// addrOverride, when it returns non-empty, is the guests' address.
	addrOverride func() string
	// provFail, when set, fails Provision of the guests it names.
	provFail func(name string) error
	// beforeAddr, when set, runs before a guest's Address answers.
	beforeAddr func(ctx context.Context, name string)
	// Logical timestamps: each event gets the next tick; memory in use
	// by live guests and its peak.
	tick           int
	stamps         map[string]int // "provision NAME", "address NAME" -> tick
	mem            map[string]int
	liveMB, peakMB int
}

// stamp records what happened at the next tick. Caller holds h.mu.
func (h *fakeHost) stamp(what string) {
	h.tick++
	if h.stamps == nil {
		h.stamps = map[string]int{}
	}
	h.stamps[what] = h.tick
}

// stampOf returns the tick of the first event whose key contains sub.
func (h *fakeHost) stampOf(sub string) (int, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, v := range h.stamps {
		if strings.Contains(k, sub) {
			return v, true
		}
	}
	return 0, false
}

func newFakeHost() *fakeHost {
	return &fakeHost{info: drivers.HostInfo{Driver: "libvirt", Hypervisor: "qemu", Accel: "tcg", Nature: drivers.NatureEmulated},
		live: map[string]*fakeGuest{}, failProv: map[string]error{}, noAddr: map[string]bool{}}
}

func (h *fakeHost) Info(ctx context.Context) (drivers.HostInfo, error) { return h.info, nil }

func (h *fakeHost) Provision(ctx context.Context, spec drivers.GuestSpec) (drivers.Guest, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.provCount++
	if h.transientN > 0 {
		h.transientN--
		return nil, drivers.Errorf(drivers.ClassHost, "provision", "connection reset by libvirtd")
	}
	if h.provFail != nil {
		h.mu.Unlock()
		err := h.provFail(spec.Name)
		h.mu.Lock()
		if err != nil {
			return nil, err
		}
	}
	for k, err := range h.failProv {
		if strings.Contains(spec.Name, k) {
			return nil, err
		}
	}
	if len(spec.Seed) == 0 {
		return nil, errors.New("no seed")
	}
	g := &fakeGuest{h: h, name: spec.Name, label: spec.RunLabel, state: drivers.StateRunning, noAddr: h.noAddr[spec.Name]}
	for k := range h.noAddr {
		if strings.Contains(spec.Name, k) {
			g.noAddr = true
		}
	}
	h.live[spec.Name] = g
	h.events = append(h.events, fmt.Sprintf("provision %s mem=%d", spec.Name, spec.MemoryMB))
	h.stamp("provision " + spec.Name)
	if h.mem == nil {
		h.mem = map[string]int{}
	}
	h.mem[spec.Name] = spec.MemoryMB
	h.liveMB += spec.MemoryMB
	h.peakMB = max(h.peakMB, h.liveMB)
	return g, nil
}

func (h *fakeHost) Sweep(ctx context.Context, sel drivers.SweepSelector) ([]drivers.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []drivers.Resource
	for n, g := range h.live {
		if sel.RunLabel == "" || g.label == sel.RunLabel {
			out = append(out, drivers.Resource{Kind: "domain", Name: n, RunLabel: g.label})
			if !sel.DryRun {
				delete(h.live, n)
			}
		}
	}
	return out, nil
}

func (h *fakeHost) Close() error { h.closed = true; return nil }

func (h *fakeHost) names() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for n := range h.live {
		out = append(out, n)
	}
	return out
}

type fakeGuest struct {
	h       *fakeHost
	name    string
	label   string
	state   drivers.PowerState
	noAddr  bool
	console string // appended to the boot banner
}

func (g *fakeGuest) Name() string { return g.name }
func (g *fakeGuest) Address(ctx context.Context) (string, error) {
	if g.h.beforeAddr != nil {
		g.h.beforeAddr(ctx, g.name)
	}
	defer func() {
		g.h.mu.Lock()
		g.h.stamp("address " + g.name)
		g.h.mu.Unlock()
	}()
	if g.noAddr {
		<-ctx.Done()
		return "", fmt.Errorf("no DHCP lease for %s", g.name)
	}
	if g.h.addrOverride != nil {
		if a := g.h.addrOverride(); a != "" {
			return a, nil
		}
	}
	return "192.168.150.10", nil
}
func (g *fakeGuest) Power(ctx context.Context, op drivers.PowerOp) error { return nil }
func (g *fakeGuest) State(ctx context.Context) (drivers.PowerState, error) {
	g.h.mu.Lock()
	defer g.h.mu.Unlock()
	return g.state, nil
}
func (g *fakeGuest) Console(ctx context.Context) ([]byte, error) {
	g.h.mu.Lock()
	defer g.h.mu.Unlock()
	return []byte("Linux version 6.1 fake\nlogin:\n" + g.console), nil
}
func (g *fakeGuest) Destroy(ctx context.Context, grace time.Duration) error {
	g.h.mu.Lock()
	defer g.h.mu.Unlock()
	if _, ok := g.h.live[g.name]; ok {
		g.h.events = append(g.h.events, "destroy "+g.name)
		g.h.liveMB -= g.h.mem[g.name]
	}
	delete(g.h.live, g.name)
	return nil
}

// fakeOS answers commands from a table; "fail-transport" breaks it.
type fakeOS struct {
	mu       sync.Mutex
	closed   bool
	broken   error
	cmds     []string
	uploaded map[string]int
	// answer, when set, answers the commands it knows (ok true).
	answer func(ctx context.Context, cmd transport.Command) (res transport.Result, err error, ok bool)
}

func (x *fakeOS) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return transport.Result{}, transport.ErrClosed
	}
	if x.broken != nil {
		return transport.Result{}, x.broken
	}
	x.cmds = append(x.cmds, cmd.Cmd)
	if x.answer != nil {
		if res, err, ok := x.answer(ctx, cmd); ok {
			return res, err
		}
	}
	switch {
	case strings.Contains(cmd.Cmd, "os-release"):
		return transport.Result{Cmd: cmd.Cmd, Stdout: []byte("PRETTY_NAME=\"Fake Linux 1\"\n\nVC_KERNEL=6.1.0-fake\n")}, nil
	case cmd.Cmd == "false":
		return transport.Result{Cmd: cmd.Cmd, Exit: 1}, nil
	case cmd.Cmd == "sleep":
		x.mu.Unlock()
		<-ctx.Done()
		x.mu.Lock()
		return transport.Result{}, ctx.Err()
	}
	return transport.Result{Cmd: cmd.Cmd, Stdout: []byte("ok")}, nil
}

func (x *fakeOS) Upload(ctx context.Context, path string, r io.Reader, mode uint32) error {
	b, _ := io.ReadAll(r)
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.uploaded == nil {
		x.uploaded = map[string]int{}
	}
	x.uploaded[path] = len(b)
	return nil
}
func (x *fakeOS) Download(ctx context.Context, path string, w io.Writer) error {
	_, err := io.Copy(w, bytes.NewReader(nil))
	return err
}
func (x *fakeOS) Close() error { x.mu.Lock(); x.closed = true; x.mu.Unlock(); return nil }
func (x *fakeOS) Err() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return transport.ErrClosed
	}
	return x.broken
}

// fakeDial hands out fakeOS transports and remembers them.
type fakeDial struct {
	mu      sync.Mutex
	conns   []*fakeOS
	hostKey error
	fail    error
	dials   int
	answer  func(ctx context.Context, cmd transport.Command) (transport.Result, error, bool)
}

func (d *fakeDial) dial(ctx context.Context, addr string, a transport.Access) (transport.Transport, string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dials++
	if a.HostKey == "" || a.Key == nil {
		return nil, "", errors.New("dial without pinned host key or client key")
	}
	if d.hostKey != nil {
		return nil, "", d.hostKey
	}
	if d.fail != nil {
		return nil, "3 attempts", d.fail
	}
	x := &fakeOS{answer: d.answer}
	d.conns = append(d.conns, x)
	return x, "1 attempt", nil
}

// fakeOf returns the fake under a session's round-trip counter.
func fakeOf(x transport.Transport) *fakeOS {
	if u, ok := x.(interface{ Unwrap() transport.Transport }); ok {
		x = u.Unwrap()
	}
	return x.(*fakeOS)
}
