package plan

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Knowledge is what plan validation learns from the packages that own it:
// the registered drivers and their URI grammars, the built-in expectation
// profiles and the check catalog. The run resolver (package resolve) supplies
// it, so plan imports neither suites nor drivers.
type Knowledge interface {
	// Drivers lists the driver names a plan may use.
	Drivers() []string
	// CheckURI validates an expanded uri for driver and reports whether
	// it names this machine.
	CheckURI(driver, uri string) (local bool, err error)
	// Profiles lists the built-in expectation profiles.
	Profiles() []string
	// CheckSelector validates one entry of a check selection: a check ID,
	// an area or a glob (path.Match) that names at least one check. Its
	// error says what is wrong, with a near miss when there is one.
	CheckSelector(s string) error
	// CheckProfileFile validates a profile_overrides file for a run
	// bounded by run (timeouts.run).
	CheckProfileFile(path string, run time.Duration) error
	// Attaches reports whether driver reaches machines that already run
	// (their images need no path).
	Attaches(driver string) bool
	// ExpandURI expands a uri field (ResolveURI) and refuses a password
	// in it, as written or as expanded; its errors never repeat the
	// password.
	ExpandURI(s string) (string, error)
}

// LabDirDefault is where the lab keeps its state (see fixtures/lab/lab).
const LabDirDefault = "/var/tmp/virtcert-lab"

// ResolveURI expands a uri field. Only uri fields are expanded, nothing
// else in the plan:
//   - "lab" is the local lab: $VIRTCERT_LAB_URI, else the file
//     $VIRTCERT_LAB_DIR/uri (default /var/tmp/virtcert-lab/uri), written by
//     `fixtures/lab/lab up`;
//   - ${NAME} is replaced by the environment variable NAME, which must be
//     set (a bare $NAME is left alone: it is legal in URIs).
func ResolveURI(s string) (string, error) {
	if s == "lab" {
		if v := os.Getenv("VIRTCERT_LAB_URI"); v != "" {
			return v, nil
		}
		dir := os.Getenv("VIRTCERT_LAB_DIR")
		if dir == "" {
			dir = LabDirDefault
		}
		b, err := os.ReadFile(filepath.Join(dir, "uri"))
		if err != nil {
			return "", fmt.Errorf(`"lab": VIRTCERT_LAB_URI is not set and %s is unreadable (is the lab up? run: fixtures/lab/lab up)`, filepath.Join(dir, "uri"))
		}
		return strings.TrimSpace(string(b)), nil
	}
	var missing string
	out := envRE.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := os.LookupEnv(name)
		if !ok && missing == "" {
			missing = name
		}
		return v
	})
	if missing != "" {
		return "", fmt.Errorf("environment variable %s (named in the uri) is not set", missing)
	}
	return out, nil
}

// LabNTP is the lab's NTP server (cmd/labntp on the bridge address, see
// fixtures/lab/lab).
const LabNTP = "192.168.150.1"

// LabOptions fills in the lab's network and pool (both "virtcert", fixed
// by the lab) for a libvirt host whose uri is "lab", unless set.
func LabOptions(driver, uri string, opts map[string]string) map[string]string {
	if driver != "libvirt" || uri != "lab" {
		return opts
	}
	out := map[string]string{"network": "virtcert", "pool": "virtcert"}
	for k, v := range opts {
		out[k] = v
	}
	return out
}

var (
	envRE     = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*\}`)
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$`)
	hostRE    = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`)
)

type validator struct {
	file    string
	lines   map[string]int
	present map[string]int // fields written in the plan (for explicit zeros)
	base    string
	flags   map[string]string // field path -> flag name (FromFlags)
	know    Knowledge
	errs    Errors
}

func (v *validator) errf(field, format string, args ...any) {
	e := &Error{File: v.file, Line: v.line(field), Field: field, Message: fmt.Sprintf(format, args...)}
	if v.flags != nil {
		e.File, e.Line = "", 0
		if f, ok := v.flags[field]; ok {
			e.Field = f
		}
	}
	v.errs = append(v.errs, e)
}

// line is the field's line, else its nearest written parent's (a
// required field left out is reported where its mapping is).
func (v *validator) line(field string) int {
	for f := field; f != ""; {
		if l, ok := v.lines[f]; ok {
			return l
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return 0
}

func (v *validator) has(field string) bool {
	_, ok := v.present[field]
	return ok
}

// abs resolves a relative path against the plan's directory; "~/" is the
// user's home directory (the only expansion done in paths).
func (v *validator) abs(p string) string {
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[2:])
		}
	}
	if p == "" || filepath.IsAbs(p) || v.base == "" {
		return p
	}
	return filepath.Join(v.base, p)
}

// readable checks that a file exists, is a regular file and can be read.
func (v *validator) readable(field string, p *string) {
	if *p == "" {
		return
	}
	*p = v.abs(*p)
	// Stat first: opening a FIFO or a device (a plan naming /dev/stdin)
	// could block the run before it starts.
	st, err := os.Stat(*p)
	if err != nil {
		v.errf(field, "%s: %s", *p, unwrapPathError(err))
		return
	}
	if st.IsDir() {
		v.errf(field, "%s is a directory, want a file", *p)
		return
	}
	if !st.Mode().IsRegular() {
		v.errf(field, "%s is not a regular file", *p)
		return
	}
	f, err := os.Open(*p)
	if err != nil {
		v.errf(field, "%s: %s", *p, unwrapPathError(err))
		return
	}
	defer f.Close()
	var one [1]byte
	if _, err := f.Read(one[:]); err != nil && st.Size() > 0 {
		v.errf(field, "%s: unreadable: %s", *p, unwrapPathError(err))
	}
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (v *validator) validate(p *Plan) {
	if len(p.Hosts) == 0 {
		v.errf("hosts", "at least one host is required")
	}
	if len(p.Images) == 0 {
		v.errf("images", "at least one image is required")
	}
	local := map[string]bool{}
	for _, name := range sortedKeys(p.Hosts) {
		if l, ok := v.host(name, p.Hosts[name]); ok {
			local[name] = l
		}
	}
	pairs := v.matrix(p)
	// An image's files can be checked here only when a host using it is
	// this machine; a remote host's paths are checked by its driver.
	imgLocal := map[string]bool{}
	imgDrivers := map[string][]string{}
	for _, pr := range pairs {
		if h := p.Hosts[pr.Host]; h != nil {
			imgLocal[pr.Image] = imgLocal[pr.Image] || local[pr.Host]
			imgDrivers[pr.Image] = append(imgDrivers[pr.Image], h.Driver)
		}
	}
	for _, name := range sortedKeys(p.Images) {
		v.image(name, p.Images[name], imgLocal[name], imgDrivers[name])
	}
	v.runSettings(p, pairs)
}

// host validates one host entry; ok with whether its uri names this
// machine when the uri is valid.
func (v *validator) host(name string, h *Host) (local, ok bool) {
	f := "hosts." + name
	if !nameRE.MatchString(name) {
		v.errf(f, "host names are letters, digits, '.', '_', '-' (at most 40)")
	}
	if h == nil {
		v.errf(f, "empty host")
		return false, false
	}
	drivers := v.know.Drivers()
	switch {
	case h.Driver == "":
		v.errf(f+".driver", "required (one of %s)", strings.Join(drivers, ", "))
	case !slices.Contains(drivers, h.Driver):
		v.errf(f+".driver", "unknown driver %q%s (want one of %s)", h.Driver, Suggest(h.Driver, drivers), strings.Join(drivers, ", "))
	default:
		local, ok = v.hostURI(f, h)
	}
	if ps := v.know.Profiles(); h.Profile != "" && !slices.Contains(ps, h.Profile) {
		v.errf(f+".profile", "unknown profile %q%s (want one of %s; see `virtcert profiles`)", h.Profile, Suggest(h.Profile, ps), strings.Join(ps, ", "))
	}
	v.credentials(f, h)
	return local, ok
}

// hostURI applies the lab's defaults, checks the NTP servers and
// expands and checks the uri with the driver's grammar.
func (v *validator) hostURI(f string, h *Host) (local, ok bool) {
	h.Options = LabOptions(h.Driver, h.URI, h.Options)
	if h.Driver == "libvirt" && h.URI == "lab" && h.NTPServers == nil {
		h.NTPServers = []string{LabNTP}
	}
	for i, n := range h.NTPServers {
		if net.ParseIP(n) == nil && !hostRE.MatchString(n) {
			v.errf(fmt.Sprintf("%s.ntp_servers[%d]", f, i), "%q is neither an IP address nor a host name", n)
		}
	}
	if h.URI == "" {
		v.errf(f+".uri", "required for driver %s", h.Driver)
		return false, false
	}
	uri, err := v.know.ExpandURI(h.URI)
	if err != nil {
		v.errf(f+".uri", "%v", err)
		return false, false
	}
	l, err := v.know.CheckURI(h.Driver, uri)
	if err != nil {
		v.errf(f+".uri", "%v", err)
		return false, false
	}
	if scheme, _, _ := strings.Cut(uri, "://"); h.Insecure && strings.HasSuffix(scheme, "+ssh") {
		v.errf(f+".insecure", "insecure: true does not apply to %s: the SSH host key is always pinned (known_hosts)", scheme)
		return false, false
	}
	if h.URI != uri && strings.Contains(h.URI, "${") {
		h.written = h.URI // saved unexpanded (Resolved)
	}
	h.URI = uri
	return l, true
}

// credentials checks the references to a host's credentials and files.
func (v *validator) credentials(f string, h *Host) {
	if h.UsernameEnv != "" && !envNameRE.MatchString(h.UsernameEnv) {
		v.errf(f+".username_env", "not an environment variable name")
	}
	if h.PasswordEnv != "" && !envNameRE.MatchString(h.PasswordEnv) {
		v.errf(f+".password_env", "not an environment variable name")
	}
	if h.PasswordEnv != "" && h.PasswordFile != "" {
		v.errf(f+".password_file", "set password_env or password_file, not both")
	}
	v.readable(f+".password_file", &h.PasswordFile)
	v.readable(f+".ca_cert", &h.CACert)
	v.readable(f+".client_cert", &h.ClientCert)
	v.readable(f+".client_key", &h.ClientKey)
}

// matrix checks the plan's matrix and returns the pairs to run.
func (v *validator) matrix(p *Plan) []Pair {
	seen := map[Pair]bool{}
	for i, pr := range p.Matrix {
		f := fmt.Sprintf("matrix[%d]", i)
		if _, ok := p.Hosts[pr.Host]; !ok {
			v.errf(f+".host", "no host named %q in hosts", pr.Host)
		}
		if _, ok := p.Images[pr.Image]; !ok {
			v.errf(f+".image", "no image named %q in images", pr.Image)
		}
		if seen[pr] {
			v.errf(f, "duplicate matrix entry %s/%s", pr.Host, pr.Image)
		}
		seen[pr] = true
	}
	return p.Targets()
}

// image validates one image and fills in its defaults. local: a host
// using it is this machine (its files are checked); drivers: the drivers
// of the hosts using it.
func (v *validator) image(name string, im *Image, local bool, drivers []string) {
	f := "images." + name
	if !nameRE.MatchString(name) {
		v.errf(f, "image names are letters, digits, '.', '_', '-' (at most 40)")
	}
	if im == nil {
		v.errf(f, "empty image")
		return
	}
	onlyAttached := len(drivers) > 0 && !slices.ContainsFunc(drivers, func(d string) bool { return !v.know.Attaches(d) })
	if im.Path == "" && !onlyAttached {
		v.errf(f+".path", "required")
	}
	if local {
		v.readable(f+".path", &im.Path)
		v.readable(f+".kernel", &im.Kernel)
		v.readable(f+".initrd", &im.Initrd)
	}
	if im.Initrd != "" && im.Kernel == "" {
		v.errf(f+".initrd", "initrd needs kernel")
	}
	if im.Cmdline != "" && im.Kernel == "" {
		v.errf(f+".cmdline", "cmdline needs kernel (direct kernel boot)")
	}
	v.imageKinds(f, im)
	v.imageSize(f, im)
	if im.Port < 0 || im.Port > 65535 {
		v.errf(f+".port", "must be a TCP port (1-65535)")
	}
	v.readable(f+".key_file", &im.KeyFile)
	v.readable(f+".host_key_file", &im.HostKeyFile)
	if im.HostKey != "" {
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(im.HostKey)); err != nil {
			v.errf(f+".host_key", "not an SSH public key in authorized_keys format (ssh-ed25519 AAAA...)")
		}
	}
}

// imageKinds checks format, OS, firmware and user, with their defaults.
func (v *validator) imageKinds(f string, im *Image) {
	if im.Format == "" {
		im.Format = formatFromExt(im.Path)
	} else if !slices.Contains([]string{"qcow2", "raw", "vhdx", "vhd"}, im.Format) {
		v.errf(f+".format", "unknown format %q (qcow2, raw, vhdx, vhd)", im.Format)
	}
	if im.OS == "" {
		im.OS = DefaultOS
	} else if im.OS != "linux" && im.OS != "windows" {
		v.errf(f+".os", "unknown OS family %q (linux, windows)", im.OS)
	}
	if im.Firmware == "" {
		im.Firmware = DefaultFirmware
	} else if im.Firmware != "bios" && im.Firmware != "uefi" {
		v.errf(f+".firmware", "unknown firmware %q (bios, uefi)", im.Firmware)
	}
	v.imageRTC(f, im)
	if im.User == "" {
		im.User = DefaultUser
		if im.OS == "windows" {
			im.User = "Administrator"
		}
	}
}

// imageRTC checks the hardware clock's offset, with its per-OS default.
func (v *validator) imageRTC(f string, im *Image) {
	switch im.RTC {
	case "":
		im.RTC = "utc"
		if im.OS == "windows" {
			im.RTC = "localtime"
		}
	case "utc", "localtime":
	default:
		v.errf(f+".rtc", "unknown RTC offset %q (utc, localtime)", im.RTC)
	}
}

// imageSize checks memory and vCPUs (an explicit zero is an error).
func (v *validator) imageSize(f string, im *Image) {
	if v.has(f+".memory_mb") && im.MemoryMB <= 0 {
		v.errf(f+".memory_mb", "must be > 0")
	} else if im.MemoryMB == 0 {
		im.MemoryMB = DefaultMemoryMB
	}
	if v.has(f+".cpus") && im.CPUs <= 0 {
		v.errf(f+".cpus", "must be > 0")
	} else if im.CPUs == 0 {
		im.CPUs = DefaultCPUs
	}
}

// runSettings checks parallelism, timeouts, the selection, the peer and
// the plan's files.
func (v *validator) runSettings(p *Plan, pairs []Pair) {
	if v.has("parallel") && p.Parallel <= 0 {
		v.errf("parallel", "must be > 0")
	} else if p.Parallel == 0 {
		p.Parallel = DefaultParallel
	}
	v.timeouts(&p.Timeouts)
	v.selection("suites", p.Suites)
	v.selection("exclude", p.Exclude)
	if v.has("priority") && (p.Priority < 1 || p.Priority > MaxPriority) {
		v.errf("priority", "want 1 to %d (run the checks of this priority and more urgent), got %d", MaxPriority, p.Priority)
	}
	switch p.Peer {
	case "":
		p.Peer = DefaultPeer
	case PeerProvision, PeerNone:
	default:
		if !slices.ContainsFunc(pairs, func(pr Pair) bool { return pr.ID() == p.Peer }) {
			v.errf("peer", "want %q, %q or a matrix target HOST/IMAGE, got %q", PeerProvision, PeerNone, p.Peer)
		}
	}
	switch p.Collect {
	case "":
		p.Collect = CollectOnFailure
	case CollectOnFailure, CollectAlways, CollectNever:
	default:
		v.errf("collect", "want %q, %q or %q, got %q", CollectOnFailure, CollectAlways, CollectNever, p.Collect)
	}
	v.readable("waivers", &p.Waivers)
	v.readable("console_allow", &p.ConsoleAllow)
	v.readable("profile_overrides", &p.ProfileOverrides)
	if p.ProfileOverrides != "" && v.errs == nil {
		if err := v.know.CheckProfileFile(p.ProfileOverrides, p.Timeouts.Run.D()); err != nil {
			v.errf("profile_overrides", "%v", err)
		}
	}
}

// timeouts checks the timeouts and fills in their defaults.
func (v *validator) timeouts(to *Timeouts) {
	for _, t := range []struct {
		name string
		d    *Duration
		def  Duration
	}{
		{"provision", &to.Provision, Duration(DefaultProvision)},
		{"ready", &to.Ready, Duration(DefaultReady)},
		{"check", &to.Check, 0},
		{"destroy", &to.Destroy, Duration(DefaultDestroy)},
		{"run", &to.Run, Duration(DefaultRun)},
	} {
		f := "timeouts." + t.name
		switch {
		case *t.d < 0:
			v.errf(f, "must not be negative")
		case *t.d == 0 && v.has(f):
			v.errf(f, "must be > 0 (leave it out for the default)")
		case *t.d == 0:
			*t.d = t.def
		}
	}
}

// selection checks suites/exclude entries against the catalog: each is an
// area, a registered check ID or a glob naming at least one. "suites: []"
// is a mistake, not "everything" (leave it out for the whole catalog).
func (v *validator) selection(field string, sel []string) {
	if len(sel) == 0 && field == "suites" && v.has(field) {
		v.errf(field, "empty list selects no check (leave suites out for the whole catalog)")
	}
	for i, s := range sel {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := v.know.CheckSelector(s); err != nil {
			v.errf(f, "%v", err)
		}
	}
}

func formatFromExt(p string) string {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".raw", ".img":
		return "raw"
	case ".vhdx":
		return "vhdx"
	case ".vhd":
		return "vhd"
	}
	return DefaultFormat
}

// Targets returns the host×image pairs to run: the matrix, or every host
// with every image, in a stable order.
func (p *Plan) Targets() []Pair {
	if len(p.Matrix) > 0 {
		return append([]Pair(nil), p.Matrix...)
	}
	var out []Pair
	for _, h := range sortedKeys(p.Hosts) {
		for _, i := range sortedKeys(p.Images) {
			out = append(out, Pair{Host: h, Image: i})
		}
	}
	return out
}

// ID is the target ID "host/image".
func (pr Pair) ID() string { return pr.Host + "/" + pr.Image }

// HostNames lists the plan's host names in order.
func (p *Plan) HostNames() []string { return sortedKeys(p.Hosts) }
