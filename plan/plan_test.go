package plan

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/suites"
)

func init() {
	// A small catalog, so suites/exclude entries can be validated.
	for _, id := range []string{"clock.offset", "clock.source", "platform.hypervisor"} {
		suites.Register(suites.Check{ID: id, Area: strings.Split(id, ".")[0], Title: id, Timeout: time.Second, Run: func(*suites.T) {}})
	}
}

func TestLoadGood(t *testing.T) {
	p, err := Load("testdata/good.yaml", know)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.SHA256) != 64 || p.Path != "testdata/good.yaml" {
		t.Errorf("hash/path not recorded: %q %q", p.SHA256, p.Path)
	}
	tiny := p.Images["tiny"]
	if !filepath.IsAbs(tiny.Path) && !strings.HasPrefix(tiny.Path, "testdata/") {
		t.Errorf("relative path not resolved against the plan dir: %s", tiny.Path)
	}
	if tiny.Format != "qcow2" || tiny.OS != "linux" || tiny.User != "root" || tiny.CPUs != 1 || tiny.MemoryMB != 256 {
		t.Errorf("defaults: %+v", tiny)
	}
	if p.Timeouts.Ready.D() != 90*time.Second || p.Timeouts.Run.D() != DefaultRun || p.Timeouts.Destroy.D() != 10*time.Second {
		t.Errorf("timeouts: %+v", p.Timeouts)
	}
	if p.Peer != PeerProvision || p.Parallel != 2 || p.Collect != CollectOnFailure {
		t.Errorf("peer/parallel/collect: %q %d %q", p.Peer, p.Parallel, p.Collect)
	}
	if got := p.Targets(); len(got) != 2 || got[0].ID() != "lab/tiny" {
		t.Errorf("targets: %v", got)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Setenv("VC_TEST_UNSET_FOR_SURE", "")
	os.Unsetenv("VC_TEST_UNSET_FOR_SURE")
	base := `name: x
hosts:
  lab: {driver: libvirt, uri: "qemu:///system"}
images:
  tiny: {path: img/disk.qcow2}
`
	cases := []struct {
		name, text, want string
	}{
		{"zero memory", base + "  other:\n    path: img/disk.qcow2\n    memory_mb: 0\n", "p.yaml:8: images.other.memory_mb: must be > 0"},
		{"negative timeout", base + "timeouts:\n  ready: -5s\n", "p.yaml:7: timeouts.ready: must not be negative"},
		{"zero timeout", base + "timeouts:\n  ready: 0s\n", "timeouts.ready: must be > 0"},
		{"bad duration", base + "timeouts:\n  ready: soon\n", `p.yaml:7: timeouts.ready: not a duration "soon"`},
		{"unknown key", base + "paralel: 3\n", `p.yaml:6: paralel: unknown field "paralel"`},
		{"unknown nested key", strings.Replace(base, "{path: img/disk.qcow2}", "{path: img/disk.qcow2, memroy: 3}", 1), `p.yaml:5: images.tiny.memroy: unknown field "memroy"`},
		{"wrong type", base + "parallel: many\n", `p.yaml:6: parallel: wrong type: want an integer, got str "many"`},
		{"unknown driver", strings.Replace(base, "driver: libvirt", "driver: vmware", 1), `p.yaml:3: hosts.lab.driver: unknown driver "vmware"`},
		{"bad uri", strings.Replace(base, "qemu:///system", "qemu+libssh://nohost/system", 1), `hosts.lab.uri: bad libvirt URI`},
		{"bad uri parameter", strings.Replace(base, "qemu:///system", "qemu+tcp://h/system?socket=/x", 1), `parameter "socket" is not supported`},
		{"bad uri path", strings.Replace(base, "qemu:///system", "qemu:///sys", 1), `path must be /system or /session`},
		{"insecure over ssh", strings.Replace(base, `uri: "qemu:///system"`, `uri: "qemu+ssh://h/system", insecure: true`, 1), `hosts.lab.insecure: insecure: true does not apply to qemu+ssh: the SSH host key is always pinned`},
		{"unset env in uri", strings.Replace(base, "qemu:///system", "${VC_TEST_UNSET_FOR_SURE}", 1), "VC_TEST_UNSET_FOR_SURE (named in the uri) is not set"},
		{"missing image", strings.Replace(base, "img/disk.qcow2", "img/nope.qcow2", 1), "images.tiny.path: testdata/img/nope.qcow2: no such file or directory"},
		{"image is dir", strings.Replace(base, "img/disk.qcow2", "img", 1), "is a directory"},
		{"unknown check", base + "suites: [clock.offst]\n", `p.yaml:6: suites[0]: unknown check or area "clock.offst"`},
		{"bad matrix", base + "matrix:\n  - {host: lab, image: debian}\n", `p.yaml:7: matrix[0].image: no image named "debian"`},
		{"unreadable key", strings.Replace(base, "{path: img/disk.qcow2}", "{path: img/disk.qcow2, key_file: /nonexistent/id_ed25519}", 1), "images.tiny.key_file: /nonexistent/id_ed25519: no such file"},
		{"bad host key", strings.Replace(base, "{path: img/disk.qcow2}", "{path: img/disk.qcow2, host_key: 'ssh-ed25519 zzz'}", 1), "images.tiny.host_key: not an SSH public key"},
		{"password in text", base + "  w:\n    path: img/disk.qcow2\n    password: hunter2\n", "p.yaml:8: images.w.password: secrets are not allowed in the plan text; use password_env or password_file"},
		{"pem in text", base + "  w:\n    path: img/disk.qcow2\n    cmdline: |\n      -----BEGIN OPENSSH PRIVATE KEY-----\n      abc\n", "a private key is pasted into the plan"},
		{"syntax", "hosts: [\n", "p.yaml:"},
		{"empty", "", "plan is empty"},
		{"not a mapping", "- a\n- b\n", "plan must be a mapping"},
		{"no hosts", "name: x\nimages:\n  tiny: {path: img/disk.qcow2}\n", "hosts: at least one host is required"},
		{"bad peer", base + "peer: bogus\n", `peer: want "provision", "none"`},
		{"bad collect", base + "collect: sometimes\n", `p.yaml:6: collect: want "on-failure", "always" or "never", got "sometimes"`},
		{"unknown profile", strings.Replace(base, "driver: libvirt,", "driver: libvirt, profile: vmware,", 1), `hosts.lab.profile: unknown profile "vmware"`},
		{"bad rtc", strings.Replace(base, "{path: img/disk.qcow2}", "{path: img/disk.qcow2, rtc: gmt}", 1), `images.tiny.rtc: unknown RTC offset "gmt" (utc, localtime)`},
		{"bad os", strings.Replace(base, "{path: img/disk.qcow2}", "{path: img/disk.qcow2, os: beos}", 1), `images.tiny.os: unknown OS family "beos"`},
		{"bad ntp server", strings.Replace(base, "driver: libvirt,", "driver: libvirt, ntp_servers: ['192.168.150.1', 'a b'],", 1), `hosts.lab.ntp_servers[1]: "a b" is neither an IP address nor a host name`},
		{"both passwords", strings.Replace(base, "driver: libvirt,", "driver: libvirt, password_env: X, password_file: img/disk.qcow2,", 1), "set password_env or password_file, not both"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.text), "p.yaml", "testdata", know)
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error is %T, want plan.Errors", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("got  %q\nwant %q", err.Error(), c.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "abc") && strings.Contains(c.text, "PRIVATE") {
				t.Errorf("secret echoed in error: %q", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestLoadFiles(t *testing.T) {
	for file, want := range map[string]string{
		"testdata/zero-memory.yaml": "testdata/zero-memory.yaml:7: images.tiny.memory_mb: must be > 0",
		"testdata/unknown-key.yaml": `testdata/unknown-key.yaml:6: hosts.lab.memroy: unknown field "memroy"`,
		"testdata/password.yaml":    "testdata/password.yaml:6: hosts.hv.password: secrets are not allowed",
		"testdata/missing.yaml":     "testdata/missing.yaml: cannot read plan: no such file or directory",
	} {
		_, err := Load(file, know)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", file, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: secret in error", file)
		}
	}
}

// TestLabNTP: a lab host tells its guests about the lab's NTP server
// unless the plan says otherwise (an empty list means none); other hosts
// get none by default.
// TestLibvirtURIGrammar: the plan accepts what the libvirt driver can
// dial, by the driver's own grammar: qemu://host/system is TLS (libvirt's
// rule), and a URI it cannot dial is refused with the driver's reason.
func TestLibvirtURIGrammar(t *testing.T) {
	for _, uri := range []string{"qemu://h/system", "qemu+ssh://u@h/system?keyfile=/k", "qemu:///system?socket=/x/sock"} {
		if _, err := Parse([]byte("name: x\nhosts:\n  h: {driver: libvirt, uri: '"+uri+"'}\nimages:\n  tiny: {path: img/disk.qcow2}\n"), "p.yaml", "testdata", know); err != nil {
			t.Errorf("%s: %v", uri, err)
		}
	}
	_, err := Parse([]byte("name: x\nhosts:\n  h: {driver: libvirt, uri: 'qemu+tcp://alice@h/sys'}\nimages:\n  tiny: {path: img/disk.qcow2}\n"), "p.yaml", "testdata", know)
	if err == nil || !strings.Contains(err.Error(), "path must be /system or /session") {
		t.Errorf("bad path: %v, want the path error", err)
	}
}

func TestLabNTP(t *testing.T) {
	t.Setenv("VIRTCERT_LAB_URI", "qemu:///system?socket=/x/sock")
	for _, c := range []struct{ hosts, want string }{
		{"  h: {driver: libvirt, uri: lab}\n", LabNTP},
		{"  h: {driver: libvirt, uri: lab, ntp_servers: [10.1.2.3]}\n", "10.1.2.3"},
		{"  h: {driver: libvirt, uri: lab, ntp_servers: []}\n", ""},
		{"  h: {driver: libvirt, uri: 'qemu:///system'}\n", ""},
	} {
		p, err := Parse([]byte("name: x\nhosts:\n"+c.hosts+"images:\n  tiny: {path: img/disk.qcow2}\n"), "p.yaml", "testdata", know)
		if err != nil {
			t.Fatalf("%s: %v", c.hosts, err)
		}
		if got := strings.Join(p.Hosts["h"].NTPServers, ","); got != c.want {
			t.Errorf("%s: ntp servers %q, want %q", strings.TrimSpace(c.hosts), got, c.want)
		}
	}
}

func TestResolveURI(t *testing.T) {
	t.Setenv("VIRTCERT_LAB_URI", "qemu:///system?socket=/x/sock")
	if u, err := ResolveURI("lab"); err != nil || u != "qemu:///system?socket=/x/sock" {
		t.Errorf("lab from env: %q %v", u, err)
	}
	t.Setenv("VIRTCERT_LAB_URI", "")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "uri"), []byte("qemu:///system?socket=/y\n"), 0o644)
	t.Setenv("VIRTCERT_LAB_DIR", dir)
	if u, err := ResolveURI("lab"); err != nil || u != "qemu:///system?socket=/y" {
		t.Errorf("lab from file: %q %v", u, err)
	}
	t.Setenv("VIRTCERT_LAB_DIR", t.TempDir())
	if _, err := ResolveURI("lab"); err == nil || !strings.Contains(err.Error(), "is the lab up") {
		t.Errorf("lab missing: %v", err)
	}
	t.Setenv("VC_HOST", "h1")
	if u, _ := ResolveURI("qemu+ssh://${VC_HOST}/system?x=$y"); u != "qemu+ssh://h1/system?x=$y" {
		t.Errorf("expansion: %q", u)
	}
}

func TestFromFlags(t *testing.T) {
	img, _ := filepath.Abs("testdata/img/disk.qcow2")
	p, err := FromFlags(Flags{URI: "qemu:///system", Image: img, Kernel: "testdata/img/vmlinuz", Cmdline: "console=ttyS0"}, know)
	if err != nil {
		t.Fatal(err)
	}
	// A readable target: "<image base name> on <host or driver>".
	if p.Hosts["libvirt"] == nil || p.Images["disk"] == nil {
		t.Fatalf("one-off names: hosts %v images %v, want libvirt and disk", p.Hosts, p.Images)
	}
	if p.Hosts["libvirt"].Driver != "libvirt" || !filepath.IsAbs(p.Images["disk"].Kernel) || len(p.SHA256) != 64 {
		t.Errorf("plan: %+v %+v", p.Hosts["libvirt"], p.Images["disk"])
	}
	for _, c := range []struct {
		f    Flags
		want string
	}{
		{Flags{URI: "qemu:///system", Image: "/nonexistent.qcow2"}, "--image: /nonexistent.qcow2: no such file or directory"},
		{Flags{URI: "bogus", Image: img}, "--uri: bad libvirt URI"},
		{Flags{Driver: "vmware", URI: "x", Image: img}, `--driver: unknown driver "vmware"`},
		{Flags{URI: "qemu:///system", Image: img, MemoryMB: -1}, "--memory: must be > 0"},
		{Flags{URI: "qemu:///system", Image: img, Suites: []string{"nope"}}, `--checks: unknown check or area "nope"`},
	} {
		if _, err := FromFlags(c.f, know); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.f, err, c.want)
		}
	}
}

func TestResolvedRoundTrip(t *testing.T) {
	p, err := Load("testdata/good.yaml", know)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Resolved()
	if err != nil {
		t.Fatal(err)
	}
	q, err := Parse(b, "resolved.yaml", "/nonexistent-base", know)
	if err != nil {
		t.Fatalf("resolved plan does not load again: %v\n%s", err, b)
	}
	if q.Images["tiny"].Path != p.Images["tiny"].Path || q.Timeouts != p.Timeouts {
		t.Errorf("round trip changed the plan")
	}
}

func FuzzLoad(f *testing.F) {
	for _, file := range []string{"testdata/good.yaml", "testdata/zero-memory.yaml", "testdata/unknown-key.yaml", "testdata/password.yaml"} {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b, "fuzz.yaml", "testdata", know)
		if err == nil {
			if p.Parallel <= 0 || p.Timeouts.Ready <= 0 || len(p.Hosts) == 0 || len(p.Images) == 0 {
				t.Fatalf("accepted plan violates its invariants: %+v", p)
			}
			for _, im := range p.Images {
				if im.MemoryMB <= 0 || im.CPUs <= 0 {
					t.Fatalf("accepted image with memory %d cpus %d", im.MemoryMB, im.CPUs)
				}
			}
			return
		}
		pe, ok := errors.AsType[Errors](err)
		if !ok {
			t.Fatalf("not an Errors: %T %v", err, err)
		}
		for _, e := range pe {
			if strings.Contains(e.Error(), "\n") {
				t.Fatalf("multi-line problem: %q", e)
			}
		}
	})
}

// TestOneOffNames: a one-off run's target is named after the image file
// and the URI's host (or its alias, or the driver).
func TestOneOffNames(t *testing.T) {
	for _, c := range []struct {
		f           Flags
		host, image string
	}{
		{Flags{Driver: "libvirt", URI: "qemu:///system", Image: "/var/img/debian-12.qcow2"}, "libvirt", "debian-12"},
		{Flags{Driver: "libvirt", URI: "qemu+ssh://kvm1.example.org/system", Image: "x/Ubuntu 24.04 (LTS).img"}, "kvm1.example.org", "Ubuntu-24.04--LTS"},
		{Flags{Driver: "libvirt", URI: "lab", Image: "tiny.qcow2"}, "lab", "tiny"},
		{Flags{Driver: "hyperv", URI: "https://hv1:5986/wsman", Image: "C:/img/win.vhdx"}, "hv1", "win"},
		{Flags{Driver: "existing", URI: "ssh://root@10.0.0.5"}, "10.0.0.5", FlagImage},
		{Flags{Driver: "libvirt", URI: "qemu:///system", Image: "/img/---.qcow2"}, "libvirt", FlagImage},
	} {
		if h, i := OneOffNames(c.f); h != c.host || i != c.image {
			t.Errorf("%+v: %s/%s, want %s/%s", c.f, h, i, c.host, c.image)
		}
	}
}

func TestLabOptions(t *testing.T) {
	t.Setenv("VIRTCERT_LAB_URI", "qemu:///system?socket=/x")
	img, _ := filepath.Abs("testdata/img/disk.qcow2")
	p, err := FromFlags(Flags{URI: "lab", Image: img}, know)
	if err != nil {
		t.Fatal(err)
	}
	h := p.Hosts["lab"]
	if h == nil {
		t.Fatalf("one-off on the lab: hosts %v, want one named lab", p.Hosts)
	}
	if h.URI != "qemu:///system?socket=/x" || h.Options["network"] != "virtcert" || h.Options["pool"] != "virtcert" {
		t.Errorf("lab host: %+v", h)
	}
	if o := LabOptions("libvirt", "lab", map[string]string{"pool": "mine"}); o["pool"] != "mine" || o["network"] != "virtcert" {
		t.Errorf("explicit option overridden: %v", o)
	}
	if o := LabOptions("libvirt", "qemu:///system", nil); o != nil {
		t.Errorf("non-lab uri got options: %v", o)
	}
}

// TestEveryProblem: a plan with several problems reports each, with its
// line and field, in file order: unknown keys (with the nearest known key),
// wrong types (not also "must be > 0" on the same field), and the
// validator's findings, with near misses for drivers, profiles, checks.
func TestEveryProblem(t *testing.T) {
	text := `name: x
hosts:
  a: {driver: libvrit, uri: 'qemu:///system'}
  b: {driver: libvirt, uri: 'qemu:///system', profile: kvm-tgc}
images:
  i: {path: /nonexistent.qcow2, memroy_mb: 2, cpus: lots}
  j:
    pth: /x.qcow2
suites: [clock.offst]
priority: 0
timeouts: {redy: 5m}
`
	_, err := Parse([]byte(text), "p.yaml", "", know)
	pe, ok := errors.AsType[Errors](err)
	if !ok {
		t.Fatalf("got %T %v", err, err)
	}
	want := []string{
		`p.yaml:3: hosts.a.driver: unknown driver "libvrit" (did you mean libvirt?) (want one of existing, hyperv, libvirt)`,
		`p.yaml:4: hosts.b.profile: unknown profile "kvm-tgc" (did you mean kvm-tcg?) (want one of generic, hyperv-gen1, hyperv-gen2, kvm, kvm-tcg; see ` + "`virtcert profiles`)",
		`p.yaml:6: images.i.memroy_mb: unknown field "memroy_mb" (did you mean memory_mb?)`,
		`p.yaml:6: images.i.cpus: wrong type: want an integer, got str "lots"`,
		`p.yaml:8: images.j.pth: unknown field "pth" (did you mean path?)`,
		`p.yaml:9: suites[0]: unknown check or area "clock.offst" (did you mean clock.offset?)`,
		`p.yaml:10: priority: want 1 to 3 (run the checks of this priority and more urgent), got 0`,
		`p.yaml:11: timeouts.redy: unknown field "redy" (did you mean ready?)`,
		`p.yaml:7: images.j.path: required`,
		`p.yaml:6: images.i.path: /nonexistent.qcow2: no such file or directory`,
	}
	var got []string
	for _, e := range pe {
		got = append(got, e.Error())
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing %q", w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	if err.Error() != strings.Join(got, "\n") {
		t.Errorf("Error() is not every problem, one a line: %q", err.Error())
	}
}

func TestEmptySuites(t *testing.T) {
	_, err := Parse([]byte("name: x\nhosts:\n  a: {driver: libvirt, uri: 'qemu:///system'}\nimages:\n  i: {path: /n.qcow2}\nsuites: []\n"), "p.yaml", "", know)
	if err == nil || !strings.Contains(err.Error(), "\np.yaml:6: suites: empty list selects no check (leave suites out for the whole catalog)") {
		t.Errorf("got %v", err)
	}
}

func TestSuggest(t *testing.T) {
	for _, c := range []struct {
		s    string
		cand []string
		want string
	}{
		{"memroy_mb", []string{"memory_mb", "cpus"}, " (did you mean memory_mb?)"},
		{"OS", []string{"os", "user"}, " (did you mean os?)"},
		{"x", []string{"os"}, ""},
		{"completely", []string{"memory_mb"}, ""},
		{"path", []string{"path"}, ""},
	} {
		if got := Suggest(c.s, c.cand); got != c.want {
			t.Errorf("Suggest(%q): %q, want %q", c.s, got, c.want)
		}
	}
}
