package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/fixtures/winguest"
	"github.com/virtcert/virtcert/fixtures/wsman"
	"github.com/virtcert/virtcert/guests"
	"github.com/virtcert/virtcert/guests/seed"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
)

// winHost is a stand-in for a hypervisor booting a Windows image with
// cloudbase-init: Provision reads the config drive the runner built, as
// cloudbase-init would, and starts a WS-Management server (fixtures/
// wsman, with the fixtures/winguest PowerShell stand-in) that serves
// HTTPS with the seed's certificate and accepts only the seed's admin
// credential over NTLM. SIMULATED: no Windows boots; what is real is the
// seed, the pinned WinRM transport, readiness and the helper upload.
type winHost struct {
	mu      sync.Mutex
	delay   time.Duration // the listener comes up this long after Provision
	guests  map[string]*winGuest
	spec    drivers.GuestSpec
	servers []*wsman.Running
	// users, when set, are the accounts WinRM accepts instead of the
	// seed's admin (an image whose cloudbase-init set another account).
	users map[string]string
	// sshAt is where the guest's port 22 leads ("": refused), wsmanAt
	// its port 5986 ("": refused); port 5985 always refuses.
	sshAt, wsmanAt string
	answer         winguest.Answerer // scripts the stand-in does not know itself
}

// GuestDialer reaches the stand-in guests: their other ports (22, 5985,
// 5986) lead where the test says, never to this machine's own.
func (h *winHost) GuestDialer() drivers.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		to := addr
		switch port {
		case "22":
			to = h.sshAt
		case "5985":
			to = ""
		case "5986":
			to = h.wsmanAt
		}
		if to == "" {
			return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
		}
		var d net.Dialer
		return d.DialContext(ctx, network, to)
	}
}

func (h *winHost) Info(ctx context.Context) (drivers.HostInfo, error) {
	return drivers.HostInfo{Driver: "libvirt", Hypervisor: "qemu", Accel: "tcg", Nature: drivers.NatureEmulated}, nil
}

func (h *winHost) Provision(ctx context.Context, spec drivers.GuestSpec) (drivers.Guest, error) {
	if spec.Image.OS != "windows" {
		return h.provisionMislabelled(spec)
	}
	files, err := readConfigDrive(spec.Seed)
	if err != nil {
		return nil, err
	}
	cd, err := seed.ParseConfigDrive(files)
	if err != nil {
		return nil, err
	}
	// The listener's port is reserved now and served only after delay:
	// readiness must wait for it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &winGuest{name: spec.Name, addr: ln.Addr().String()}
	ln.Close()
	// winguestd's own path from the config drive to the served guest.
	var cfg wsman.Config
	g.win, cfg = winguest.FromConfigDrive(cd, g.addr)
	g.win.SetAnswerer(h.answer)
	if h.users != nil {
		cfg.Users = h.users
	}
	h.mu.Lock()
	h.spec = spec
	h.guests[spec.Name] = g
	h.mu.Unlock()
	go func() {
		time.Sleep(h.delay)
		r, err := wsman.Start(cfg)
		if err != nil {
			return
		}
		h.mu.Lock()
		h.servers = append(h.servers, r)
		h.mu.Unlock()
	}()
	return g, nil
}

// provisionMislabelled plays a Windows image the plan calls linux: it
// never answers SSH on its address and serves WinRM on 5986 (with its
// own certificate: it read no seed).
func (h *winHost) provisionMislabelled(spec drivers.GuestSpec) (drivers.Guest, error) {
	tm, err := wsman.NewTLSMaterial()
	if err != nil {
		return nil, err
	}
	r, err := wsman.Start(wsman.Config{Backend: winguest.New(), Users: map[string]string{"Administrator": "image-default-Pa55"}, Auth: wsman.AuthNTLM, TLS: tm})
	if err != nil {
		return nil, err
	}
	g := &winGuest{name: spec.Name, addr: closedPort(), win: winguest.New()}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.spec, h.guests[spec.Name], h.servers, h.wsmanAt = spec, g, append(h.servers, r), net.JoinHostPort(r.Host, strconv.Itoa(r.Port))
	return g, nil
}

// seedAdminPass is the admin password in the config drive h's last
// guest was given (never empty: a test looking for it would pass).
func seedAdminPass(t *testing.T, h *winHost) string {
	t.Helper()
	h.mu.Lock()
	files, err := readConfigDrive(h.spec.Seed)
	h.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		AdminPass string `json:"admin_pass"`
	}
	if err := json.Unmarshal(files[seed.MetaDataJSON], &md); err != nil || md.AdminPass == "" {
		t.Fatalf("the seed has no admin_pass (%v)", err)
	}
	return md.AdminPass
}

// closedPort is a loopback address nothing listens on.
func closedPort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// sshServer listens on loopback and greets every connection with
// banner, as an SSH server does first; it returns its address.
func sshServer(t *testing.T, banner string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(banner + "\r\n"))
			time.AfterFunc(time.Second, func() { c.Close() })
		}
	}()
	return ln.Addr().String()
}

// readConfigDrive reads a config-2 ISO's files.
func readConfigDrive(img []byte) (map[string][]byte, error) {
	p := filepath.Join(os.TempDir(), "vc-winseed-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatInt(time.Now().UnixNano(), 36)+".iso")
	if err := os.WriteFile(p, img, 0o600); err != nil {
		return nil, err
	}
	defer os.Remove(p)
	be, err := file.OpenFromPath(p, true)
	if err != nil {
		return nil, err
	}
	defer be.Close()
	fs, err := iso9660.Read(be, int64(len(img)), 0, 2048)
	if err != nil {
		return nil, err
	}
	if l := strings.TrimRight(fs.Label(), "\x00 "); l != seed.ConfigDriveLabel {
		return nil, fmt.Errorf("seed label %q is not %s", l, seed.ConfigDriveLabel)
	}
	out := map[string][]byte{}
	for _, f := range []string{seed.MetaDataJSON, seed.UserDataFile} {
		if out[f], err = fs.ReadFile(f); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (h *winHost) Sweep(ctx context.Context, sel drivers.SweepSelector) ([]drivers.Resource, error) {
	return nil, nil
}

func (h *winHost) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.servers {
		r.Close()
	}
	return nil
}

type winGuest struct {
	name, addr string
	win        *winguest.Guest
}

func (g *winGuest) Name() string                                        { return g.name }
func (g *winGuest) Address(ctx context.Context) (string, error)         { return g.addr, nil }
func (g *winGuest) Power(ctx context.Context, op drivers.PowerOp) error { return nil }
func (g *winGuest) State(ctx context.Context) (drivers.PowerState, error) {
	return drivers.StateRunning, nil
}
func (g *winGuest) Console(ctx context.Context) ([]byte, error) { return nil, nil }
func (g *winGuest) Destroy(ctx context.Context, grace time.Duration) error {
	return nil
}

// winOpts runs check on h's guests (as the "libvirt" host), reached
// through the registered dialer of the target's transport kind.
func winOpts(t *testing.T, h *winHost, check suites.Check) testOptions {
	t.Helper()
	o := opts(t, newFakeHost(), &fakeDial{}, check)
	o.Dial = nil
	o.Openers["libvirt"] = func(ctx context.Context, uri string, _ drivers.OpenOptions) (drivers.Host, error) { return h, nil }
	return o
}

var winCheck = suites.Check{ID: "windows.hello", Area: "windows", Title: "hello", OS: []string{"windows"}, Timeout: 10 * time.Second,
	Run: func(t *suites.T) {
		r := t.Run("say hello", "Write-Output 'hello'")
		t.Expect("output", strings.TrimSpace(string(r.Stdout)) == "hello", "hello", strings.TrimSpace(string(r.Stdout)), "")
	}}

// TestWindowsGuestOverWinRM: an os: windows image is provisioned with a
// cloudbase-init config drive (not a NoCloud seed); the runner reaches it
// over WinRM, not SSH, with the seed's certificate pinned and its admin
// credential; readiness waits until the listener comes up; the Windows
// helper lands under C:\Windows\Temp before a check that uses it; a check
// runs through PowerShell.
func TestWindowsGuestOverWinRM(t *testing.T) {
	h := &winHost{guests: map[string]*winGuest{}, delay: 1500 * time.Millisecond}
	c := winCheck
	c.Uses = []string{suites.NeedHelper}
	o := winOpts(t, h, c)
	var events []string
	var evMu sync.Mutex
	o.Progress = progressFunc(func(target, format string, args ...any) {
		evMu.Lock()
		events = append(events, fmt.Sprintf(format, args...))
		evMu.Unlock()
	})
	os.WriteFile(o.ProbePath+".exe", []byte("MZ windows probe"), 0o755)
	p := parsePlan(t, `name: win
hosts:
  h1: {driver: libvirt, uri: "qemu:///system"}
images:
  win: {path: disk.qcow2, os: windows, memory_mb: 2048}
timeouts: {ready: 20s, provision: 5s, destroy: 1s}
peer: none
`)
	start := time.Now()
	run, _, err := runP(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	tg := run.Targets[0]
	if r := result(t, tg, "windows.hello"); r.Status != reports.Pass {
		t.Fatalf("windows.hello: %s %s", r.Status, r.Reason)
	}
	if el := time.Since(start); el < h.delay {
		t.Errorf("ran in %s, before the listener came up after %s", el, h.delay)
	}
	h.mu.Lock()
	g := h.guests[h.spec.Name]
	h.mu.Unlock()
	if b, ok := g.win.File(WindowsHelperPath); !ok || string(b) != "MZ windows probe" {
		t.Errorf("helper at %s: %q %v (want the .exe build); progress:\n%s", WindowsHelperPath, b, ok, strings.Join(events, "\n"))
	}
	if _, ok := g.win.File(HelperPath); ok {
		t.Errorf("helper uploaded to the Linux path %s", HelperPath)
	}
	// This stand-in does not know the identity query: the report says
	// the query failed, and does not call the guest real or simulated.
	if gi := tg.Guest; gi.Nature != "" || !strings.Contains(gi.IdentityError, "the identity query failed: exit 1") {
		t.Errorf("guest identity without an answer: %+v", gi)
	}
	t.Cleanup(func() { h.Close() })
}

// TestWindowsGuestNeverAnswersWinRM: a Windows guest whose listener
// never comes up FAILs at readiness, saying WinRM did not answer.
func TestWindowsGuestNeverAnswersWinRM(t *testing.T) {
	h := &winHost{guests: map[string]*winGuest{}, delay: time.Hour}
	o := winOpts(t, h, winCheck)
	p := parsePlan(t, `name: win
hosts:
  h1: {driver: libvirt, uri: "qemu:///system"}
images:
  win: {path: disk.qcow2, os: windows, memory_mb: 2048}
timeouts: {ready: 2s, provision: 5s, destroy: 1s}
peer: none
`)
	run, _, err := runP(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	r := result(t, run.Targets[0], "windows.hello")
	if r.Status != reports.Fail || !strings.Contains(r.Reason, "never answered WINRM") {
		t.Errorf("windows.hello: %s %q, want FAIL: never answered WINRM", r.Status, r.Reason)
	}
}

// TestKeepWindowsGuest: a kept failed Windows guest gets winrm.txt (its
// address, account and pinned certificate), no ssh_config, and the
// password is nowhere in the run directory.
func TestKeepWindowsGuest(t *testing.T) {
	h := &winHost{guests: map[string]*winGuest{}}
	failWin := winCheck
	failWin.Run = func(t *suites.T) {
		r := t.Run("fail", "exit 3")
		t.Expect("exit status", r.OK(), "0", strconv.Itoa(r.Exit), "")
	}
	o := winOpts(t, h, failWin)
	o.KeepOnFailure = true
	p := parsePlan(t, "name: win\nhosts:\n  h1: {driver: libvirt, uri: \"qemu:///system\"}\nimages:\n  win: {path: disk.qcow2, os: windows}\ntimeouts: {ready: 20s, provision: 5s, destroy: 1s}\npeer: none\n")
	_, out, err := runP(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if len(out.Kept) != 1 {
		t.Fatalf("kept: %+v", out.Kept)
	}
	adminPass := seedAdminPass(t, h)
	var txt []byte
	filepath.Walk(o.Out, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), adminPass) {
			t.Errorf("%s holds the admin password", p)
		}
		switch filepath.Base(p) {
		case "ssh_config":
			t.Errorf("ssh_config written for a Windows guest: %s", p)
		case "winrm.txt":
			txt = b
		}
		return nil
	})
	if !strings.Contains(string(txt), "certificate: sha256:") || !strings.Contains(string(txt), "user: Administrator") {
		t.Errorf("winrm.txt: %q", txt)
	}
}

// TestWindowsGuestDeclaresSimulated: a guest that answers the identity
// query with a declaration is marked simulated, with what it declared;
// one that declares nothing (as every real Windows) is not marked.
func TestWindowsGuestDeclaresSimulated(t *testing.T) {
	for answer, want := range map[string]reports.GuestInfo{
		"simulated=a Linux guest playing Windows\r\n": {Nature: drivers.NatureSimulated, Identity: "a Linux guest playing Windows"},
		"simulated=\r\n": {},
	} {
		t.Run(strings.TrimSpace(answer), func(t *testing.T) {
			h := &winHost{guests: map[string]*winGuest{}, answer: func(script string) (string, int, bool) {
				if script == guests.WindowsIdentityScript {
					return answer, 0, true
				}
				return "", 0, false
			}}
			t.Cleanup(func() { h.Close() })
			o := winOpts(t, h, winCheck)
			p := parsePlan(t, "name: win\nhosts:\n  h1: {driver: libvirt, uri: \"qemu:///system\"}\nimages:\n  win: {path: disk.qcow2, os: windows}\ntimeouts: {ready: 20s, provision: 5s, destroy: 1s}\npeer: none\n")
			run, _, err := runP(context.Background(), p, o)
			if err != nil {
				t.Fatal(err)
			}
			gi := run.Targets[0].Guest
			if gi.Simulated() != (want.Nature != "") || gi.Nature != want.Nature || gi.Identity != want.Identity || gi.IdentityError != "" {
				t.Errorf("guest: %+v, want nature %q identity %q", gi, want.Nature, want.Identity)
			}
			if r := result(t, run.Targets[0], "windows.hello"); r.Status != reports.Pass {
				t.Errorf("windows.hello: %s %s", r.Status, r.Reason)
			}
		})
	}
}
