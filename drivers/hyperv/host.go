// Package hyperv drives Hyper-V hosts through the Hyper-V PowerShell
// module: remotely over WinRM (https://host:5986/wsman) or locally on a
// Windows host. Every operation is a script from scripts/ with a param()
// block, uploaded once per connection and run with -File; values travel
// only as arguments, output comes back as JSON, and PowerShell's error
// stream (CLIXML) becomes readable, classified errors.
package hyperv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/virtcert/virtcert/drivers"
)

// Interface guards.
var (
	_ drivers.Opener = Open
	_ drivers.Host   = (*Host)(nil)
)

// Host is a connection to one Hyper-V host.
type Host struct {
	ex   Executor
	uri  string
	opts hostOptions

	mu      sync.Mutex // serialises uploads into dir
	dir     string     // per-connection script directory on the host
	uploads int

	info   infoOut
	closed bool
}

type hostOptions struct {
	Switch         string
	Generation     string // default generation: "1" or "2" ("" = from firmware)
	SecureBoot     string // "on" or "off"
	VhdDir         string // default: the host's VirtualHardDiskPath
	CallTimeout    time.Duration
	AddressTimeout time.Duration
	Auth           string // remote only: basic, ntlm, cert
}

// Host options (plan: hosts.X.options).
var knownOptions = map[string]string{
	"switch":          "virtual switch for the guest's NIC (default: the host's only switch)",
	"generation":      "default VM generation, 1 or 2 (default: 2 for uefi images, 1 for bios)",
	"secure_boot":     "on (MicrosoftUEFICertificateAuthority template) or off, for generation 2",
	"vhd_dir":         "directory for differencing disks and seeds (default: the host's VirtualHardDiskPath)",
	"call_timeout":    "deadline for one host call (default 10m)",
	"address_timeout": "how long Address waits for the guest's IP (default 5m)",
	"auth":            "remote authentication: ntlm (default), basic, or cert (client certificate)",
}

func parseOptions(extra map[string]string) (hostOptions, error) {
	o := hostOptions{CallTimeout: 10 * time.Minute, AddressTimeout: 5 * time.Minute}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := extra[k]
		if _, ok := knownOptions[k]; !ok {
			return o, drivers.Errorf(drivers.ClassInput, "hyperv options", "unknown option %q (known: %s)", k, strings.Join(sortedKeys(knownOptions), ", "))
		}
		var err error
		switch k {
		case "switch":
			o.Switch = v
		case "generation":
			if v != "1" && v != "2" {
				err = fmt.Errorf("must be 1 or 2")
			}
			o.Generation = v
		case "secure_boot":
			v = strings.ToLower(v)
			if v != "on" && v != "off" {
				err = fmt.Errorf("must be on or off")
			}
			o.SecureBoot = v
		case "vhd_dir":
			err = safeHostPath(v)
			o.VhdDir = v
		case "call_timeout", "address_timeout":
			var d time.Duration
			d, err = time.ParseDuration(v)
			if err == nil && d <= 0 {
				err = fmt.Errorf("must be positive")
			}
			if k == "call_timeout" {
				o.CallTimeout = d
			} else {
				o.AddressTimeout = d
			}
		case "auth":
			v = strings.ToLower(v)
			if v != "basic" && v != "ntlm" && v != "cert" {
				err = fmt.Errorf("must be ntlm, basic or cert")
			}
			o.Auth = v
		}
		if err != nil {
			return o, drivers.Errorf(drivers.ClassInput, "hyperv options", "option %s=%q: %v", k, v, err)
		}
	}
	return o, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// OpenExecutor opens a host over an already connected executor (used by
// Open and by tests that run the simulated host in process). It uploads
// the scripts and reads the host's description.
func OpenExecutor(ctx context.Context, ex Executor, uri string, extra map[string]string) (*Host, error) {
	o, err := parseOptions(extra)
	if err != nil {
		return nil, err
	}
	h := &Host{ex: ex, uri: uri, opts: o}
	if err := h.uploadScripts(ctx); err != nil {
		return nil, err
	}
	if err := h.run(ctx, "hyperv info", "info.ps1", nil, &h.info); err != nil {
		_ = h.cleanupDir()
		return nil, err
	}
	if h.opts.VhdDir == "" {
		h.opts.VhdDir = h.info.VirtualHardDiskPath
	}
	if err := safeHostPath(h.opts.VhdDir); err != nil {
		_ = h.cleanupDir()
		return nil, drivers.Errorf(drivers.ClassInput, "hyperv open", "VHD directory %q unusable (set option vhd_dir): %v", h.opts.VhdDir, err)
	}
	switch {
	case h.opts.Switch == "" && len(h.info.Switches) == 1:
		h.opts.Switch = h.info.Switches[0]
	case h.opts.Switch == "":
		_ = h.cleanupDir()
		return nil, drivers.Errorf(drivers.ClassInput, "hyperv open", "host has %d virtual switches %q: name one with option switch", len(h.info.Switches), []string(h.info.Switches))
	case !slices.ContainsFunc(h.info.Switches, func(s string) bool { return strings.EqualFold(s, h.opts.Switch) }):
		_ = h.cleanupDir()
		return nil, drivers.Errorf(drivers.ClassInput, "hyperv open", "virtual switch %q not found on the host (it has %q)", h.opts.Switch, []string(h.info.Switches))
	}
	slog.Debug("hyperv: connected", "uri", drivers.RedactURI(uri), "host", h.info.ComputerName, "nature", h.info.Nature, "scripts", h.dir)
	return h, nil
}

// uploadScripts creates the script directory and uploads every script,
// then checks their hashes on the host.
func (h *Host) uploadScripts(ctx context.Context) error {
	out, err := h.exec(ctx, "hyperv upload: create script directory", MkdirCommand())
	if err != nil {
		return err
	}
	if out.Exit != 0 {
		return scriptFailure("hyperv upload: create script directory", "mkdir", out)
	}
	dir := strings.TrimSpace(string(stripBOM(out.Stdout)))
	if err := safeHostPath(dir); err != nil || !strings.Contains(dir, `\`) {
		return drivers.Errorf(drivers.ClassHost, "hyperv upload", "host temp directory %q is not usable from a command line (%v)", dir, err)
	}
	h.dir = dir
	scripts, err := Scripts()
	if err != nil {
		return drivers.Wrap(drivers.ClassHost, "hyperv scripts", err)
	}
	for _, name := range ScriptNames() {
		if err := h.putFile(ctx, scripts[name], hostJoin(dir, name)); err != nil {
			_ = h.cleanupDir()
			return err
		}
	}
	var hashes List[hashOut]
	if err := h.run(ctx, "hyperv upload: verify", "hash.ps1", []Arg{{Name: "Path", Value: dir}}, &hashes); err != nil {
		_ = h.cleanupDir()
		return err
	}
	got := map[string]string{}
	for _, x := range hashes {
		got[strings.ToLower(x.Name)] = strings.ToLower(x.SHA256)
	}
	for _, name := range ScriptNames() {
		if want := ScriptSHA256(name); got[name] != want {
			_ = h.cleanupDir()
			return drivers.Errorf(drivers.ClassHost, "hyperv upload: verify", "script %s arrived corrupted on the host (sha256 %q, want %s)", name, got[name], want)
		}
	}
	return nil
}

// putFile uploads data to path on the host (chunked base64 + certutil).
// It does not hash-check; callers that need integrity run hash.ps1.
func (h *Host) putFile(ctx context.Context, data []byte, path string) error {
	op := "hyperv upload " + path
	if err := safeHostPath(path); err != nil {
		return drivers.Wrap(drivers.ClassInput, op, err)
	}
	h.mu.Lock()
	h.uploads++
	b64 := hostJoin(h.dir, fmt.Sprintf("upload-%d.b64", h.uploads))
	h.mu.Unlock()
	if len(data) == 0 {
		// certutil refuses an empty input; create the empty file directly.
		q, err := QuoteArg(path)
		if err != nil {
			return drivers.Wrap(drivers.ClassInput, op, err)
		}
		return h.mustExec(ctx, op, "type nul>"+q)
	}
	// The base64 copy goes whatever happens: a failed chunk or decode,
	// or an interrupted run (the delete has its own CallTimeout), leaves
	// no upload-N.b64 on the host.
	defer func() {
		if cl, err := DelCommand(b64); err == nil {
			_ = h.mustExec(context.WithoutCancel(ctx), op+": clean", cl)
		}
	}()
	enc := base64Std(data)
	for i := 0; i < len(enc); i += chunkSize {
		cl, err := EchoCommand(enc[i:min(i+chunkSize, len(enc))], b64)
		if err != nil {
			return drivers.Wrap(drivers.ClassInput, op, err)
		}
		if err := h.mustExec(ctx, op, cl); err != nil {
			return err
		}
	}
	cl, err := CertutilDecodeCommand(b64, path)
	if err != nil {
		return drivers.Wrap(drivers.ClassInput, op, err)
	}
	return h.mustExec(ctx, op+": decode", cl)
}

// putFileVerified uploads and checks the SHA-256 on the host.
func (h *Host) putFileVerified(ctx context.Context, data []byte, path string) error {
	if err := h.putFile(ctx, data, path); err != nil {
		return err
	}
	var hs List[hashOut]
	if err := h.run(ctx, "hyperv upload: verify "+path, "hash.ps1", []Arg{{Name: "Path", Value: path}}, &hs); err != nil {
		return err
	}
	if len(hs) != 1 || !strings.EqualFold(hs[0].SHA256, sha256hex(data)) {
		return drivers.Errorf(drivers.ClassHost, "hyperv upload", "%s arrived corrupted on the host", path)
	}
	return nil
}

func (h *Host) mustExec(ctx context.Context, op, cl string) error {
	out, err := h.exec(ctx, op, cl)
	if err != nil {
		return err
	}
	if out.Exit != 0 {
		return scriptFailure(op, strings.Fields(cl)[0], out)
	}
	return nil
}

// exec runs one command line under our own deadline (the WinRM library
// ignores contexts; the executor abandons the call when ctx ends).
func (h *Host) exec(ctx context.Context, op, cl string) (Output, error) {
	ctx, cancel := context.WithTimeout(ctx, h.opts.CallTimeout)
	defer cancel()
	out, err := h.ex.Exec(ctx, cl)
	if err != nil {
		return out, drivers.Wrap(drivers.ClassHost, op, err)
	}
	return out, nil
}

// run runs a script with arguments and decodes its JSON output into out.
func (h *Host) run(ctx context.Context, op, script string, args []Arg, out any) error {
	cl, err := psFileCommand(hostJoin(h.dir, script), args)
	if err != nil {
		return drivers.Wrap(drivers.ClassInput, op, err)
	}
	res, err := h.exec(ctx, op, cl)
	if err != nil {
		return err
	}
	if res.Exit != 0 {
		return scriptFailure(op, script, res)
	}
	if out == nil {
		return nil
	}
	if err := DecodePSJSON(res.Stdout, out); err != nil {
		return drivers.Wrap(drivers.ClassHost, op+" ("+script+")", err)
	}
	return nil
}

// ScriptError is a script (or host command) that exited non-zero.
type ScriptError struct {
	Script  string
	Exit    int
	Message string // the PowerShell error stream, made readable
}

func (e *ScriptError) Error() string {
	return fmt.Sprintf("%s exited %d: %s", e.Script, e.Exit, e.Message)
}

// scriptFailure turns a failed command into one classified, readable
// error. It classifies by the error's category and id, never by its text,
// which Windows localises.
func scriptFailure(op, script string, out Output) error {
	se := &ScriptError{Script: script, Exit: out.Exit}
	pe, found := ParsePSError(out.Stderr)
	if !found {
		se.Message = ParseCLIXML(stripBOM(out.Stderr)).Summary()
		if se.Message == "" {
			se.Message = strings.TrimSpace(string(stripBOM(out.Stdout)))
		}
		if se.Message == "" {
			se.Message = "(no error text)"
		}
		return &drivers.Error{Class: drivers.ClassHost, Op: op, Err: se}
	}
	se.Message = fmt.Sprintf("%s [%s, %s]", pe.Message, pe.Category, pe.ID)
	kind, src := pe.Kind(), pe.Source()
	switch {
	case kind == "CommandNotFoundException":
		return &drivers.Error{Class: drivers.ClassHost, Op: op, Err: fmt.Errorf("the Hyper-V PowerShell module is not available on this host (a cmdlet is not a known command); install the Hyper-V role or its management tools (Install-WindowsFeature Hyper-V-PowerShell): %w", se)}
	case bindingIDs[kind] && strings.HasPrefix(src, "Microsoft.HyperV."):
		return &drivers.Error{Class: drivers.ClassHost, Op: op, Err: fmt.Errorf("the host's Hyper-V module does not accept a call the driver makes (a Windows Server version the driver does not support?): %w", se)}
	case bindingIDs[kind], inputIDs[kind]:
		return &drivers.Error{Class: drivers.ClassInput, Op: op, Err: se}
	case guestIDs[kind]:
		return &drivers.Error{Class: drivers.ClassGuest, Op: op, Err: se}
	case pe.Category == "PermissionDenied", kind == "AccessDenied", strings.HasPrefix(kind, "UnauthorizedAccess"):
		return &drivers.Error{Class: drivers.ClassInput, Op: op, Err: fmt.Errorf("the WinRM user lacks Hyper-V rights (add it to the Hyper-V Administrators group): %w", se)}
	}
	return &drivers.Error{Class: drivers.ClassHost, Op: op, Err: se}
}

// Info describes the host (read once at open).
func (h *Host) Info(ctx context.Context) (drivers.HostInfo, error) {
	i := h.info
	nature := i.Nature
	if nature != drivers.NatureSimulated {
		nature = drivers.NatureReal
	}
	os := strings.TrimSpace(i.OSCaption)
	if i.OSBuild != "" {
		os += " (build " + i.OSBuild + ")"
	}
	hi := drivers.HostInfo{
		Driver: "hyperv", Hypervisor: "hyperv", Name: i.ComputerName, OS: os,
		Versions: map[string]string{"hyperv-module": i.HyperVModule, "windows": i.OSVersion},
		Accel:    "hyperv", Nature: nature, Notes: append([]string(nil), i.Notes...),
	}
	if nature == drivers.NatureSimulated && len(hi.Notes) == 0 {
		hi.Notes = []string{"the Hyper-V host is simulated: guests run on QEMU behind a WinRM stand-in"}
	}
	return hi, nil
}

// Close removes the script directory and closes the connection.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	err := h.cleanupDir()
	if cerr := h.ex.Close(); err == nil {
		err = cerr
	}
	return err
}

func (h *Host) cleanupDir() error {
	if h.dir == "" {
		return nil
	}
	q, err := QuoteArg(h.dir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return h.mustExec(ctx, "hyperv close: remove script directory", "rmdir /s /q "+q)
}

var labelRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// Sweep removes every VM whose Notes carry a matching virtcert label.
func (h *Host) Sweep(ctx context.Context, sel drivers.SweepSelector) ([]drivers.Resource, error) {
	var args []Arg
	if sel.RunLabel != "" {
		if !labelRE.MatchString(sel.RunLabel) {
			return nil, drivers.Errorf(drivers.ClassInput, "hyperv sweep", "run label %q has characters a label never has", sel.RunLabel)
		}
		args = append(args, Arg{Name: "RunLabel", Value: sel.RunLabel})
	}
	if sel.OlderThan > 0 {
		args = append(args, Arg{Name: "OlderThanSeconds", Value: strconv.Itoa(int(sel.OlderThan.Seconds()))})
	}
	if sel.DryRun {
		args = append(args, Arg{Name: "DryRun", Switch: true})
	}
	var found List[removedOut]
	if err := h.run(ctx, "hyperv sweep", "sweep.ps1", args, &found); err != nil {
		return nil, err
	}
	out := make([]drivers.Resource, 0, len(found))
	for _, f := range found {
		t, _ := time.Parse(time.RFC3339Nano, f.Created)
		out = append(out, drivers.Resource{Kind: f.Kind, Name: f.Name, RunLabel: f.RunLabel, Created: t})
	}
	return out, nil
}

// errGone marks a VM that no longer exists.
var errGone = errors.New("VM not found on the host")
