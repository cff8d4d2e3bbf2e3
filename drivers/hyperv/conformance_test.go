package hyperv_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/drivers/drivertest"
	"github.com/virtcert/virtcert/drivers/hyperv"
	"github.com/virtcert/virtcert/fixtures/hypervsim"
	"github.com/virtcert/virtcert/guests"
	"github.com/virtcert/virtcert/guests/seed"
	"github.com/virtcert/virtcert/internal/labslot"
)

const simParent = `C:\images\tiny.vhdx`

// labSim starts the simulated host backed by the lab, or skips.
func labSim(t *testing.T) (*hypervsim.Sim, string) { return labSimAs(t, "", "") }

// labSimAs starts it as a given Windows Server version and language.
func labSimAs(t *testing.T, profile, locale string) (*hypervsim.Sim, string) {
	t.Helper()
	if os.Getenv("VIRTCERT_E2E") != "1" {
		t.Skip("conformance against the lab-backed simulator: set VIRTCERT_E2E=1 (needs the lab: make lab-up tiny)")
	}
	uri := os.Getenv("VIRTCERT_LAB_URI")
	if uri == "" {
		dir := os.Getenv("VIRTCERT_LAB_DIR")
		if dir == "" {
			dir = "/var/tmp/virtcert-lab"
		}
		b, err := os.ReadFile(filepath.Join(dir, "uri"))
		if err != nil {
			t.Skipf("lab not up (%v): make lab-up", err)
		}
		uri = strings.TrimSpace(string(b))
	}
	cache := os.Getenv("VIRTCERT_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "virtcert")
	}
	tiny := filepath.Join(cache, "guests", "tiny")
	for _, f := range []string{"vmlinuz", "initrd.img", "disk.qcow2", "cmdline"} {
		if _, err := os.Stat(filepath.Join(tiny, f)); err != nil {
			t.Skipf("tiny guest not built (%v): make tiny", err)
		}
	}
	labslot.Acquire(t, 1) // one tiny guest at a time behind the simulated host
	cmdline, _ := os.ReadFile(filepath.Join(tiny, "cmdline"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sim, err := hypervsim.Start(ctx, hypervsim.Options{
		LabURI: uri, Users: map[string]string{"vcadmin": "Sim-Passw0rd"}, Dir: t.TempDir(), Profile: profile, Locale: locale,
		// Shell quotas far below Windows' (1500 operations, 2 GB), so the
		// suite's run crosses them: the driver recycles every 25 commands.
		MaxShellCommands: 60, MaxShellMemoryMB: 100, ShellCommandMemoryMB: 2,
		Images: map[string]drivers.Image{simParent: {
			Path: filepath.Join(tiny, "disk.qcow2"), Format: "qcow2", OS: "linux", Firmware: "bios",
			Kernel: filepath.Join(tiny, "vmlinuz"), Initrd: filepath.Join(tiny, "initrd.img"), Cmdline: strings.TrimSpace(string(cmdline)),
		}},
	})
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim, uri
}

type simHarness struct {
	t   *testing.T
	sim *hypervsim.Sim
}

func (s *simHarness) Open(ctx context.Context) (drivers.Host, error) {
	return hyperv.Open(ctx, s.sim.URL, drivers.OpenOptions{Username: "vcadmin", Password: "Sim-Passw0rd", CACertFile: s.sim.CAFile,
		Extra: map[string]string{"generation": "1", "address_timeout": "2m", "shell_commands": "25"}})
}

func (s *simHarness) Spec(name, label string) drivers.GuestSpec {
	ck, err := guests.NewClientKey("drivertest")
	if err != nil {
		s.t.Fatal(err)
	}
	hk, err := guests.NewHostKey(name)
	if err != nil {
		s.t.Fatal(err)
	}
	iso, err := seed.Build(seed.Config{InstanceID: label + "-" + name, Hostname: name, User: "root", AuthorizedKeys: []string{ck.AuthorizedKey()}, HostKey: hk, StageDir: s.t.TempDir()})
	if err != nil {
		s.t.Fatal(err)
	}
	return drivers.GuestSpec{Name: name, RunLabel: label, MemoryMB: 256, CPUs: 1, Seed: iso,
		Image: drivers.Image{Path: simParent, Format: "vhdx", OS: "linux", Firmware: "bios"}}
}

func (s *simHarness) Config() drivertest.Config {
	return drivertest.Config{
		Provisions: true, BootTimeout: 2 * time.Minute,
		ACPI: false, Agent: false, Unplug: true, // the tiny guest, as in drivers/libvirt
		MakeUnlabelled: func(ctx context.Context) ([]string, func(context.Context) (bool, error), func(), error) {
			name := "foreign-" + drivertest.NewRunLabel()
			s.sim.Backend.AddForeignVM(name)
			return []string{name}, func(context.Context) (bool, error) { return s.sim.Backend.HasVM(name), nil },
				func() { s.sim.Backend.RemoveVM(name) }, nil
		},
	}
}

// TestSimConformance runs the driver conformance suite against the
// simulated Hyper-V host over HTTPS WinRM, each VM backed by a real tiny
// guest on the lab, once per simulated Windows Server version (each
// binding the driver's cmdlet calls against that version's published
// parameter sets). The 2019 host speaks German, so no step may depend on
// English text; the 2022 host speaks English.
func TestSimConformance(t *testing.T) {
	for _, c := range []struct{ profile, locale string }{{"2019", "de-DE"}, {"2022", "en-US"}} {
		t.Run(c.profile+"-"+c.locale, func(t *testing.T) {
			sim, _ := labSimAs(t, c.profile, c.locale)
			info := sim.Backend.Profile()
			if info != c.profile {
				t.Fatalf("simulator runs profile %q, want %q", info, c.profile)
			}
			drivertest.Run(t, &simHarness{t: t, sim: sim})
			if n := sim.Backend.ExecCount(); n <= 60 {
				t.Errorf("the run made %d commands: not past the shell quota (60), so shell recycling went unproven", n)
			}
			if n := sim.Backend.VMNames(); len(n) != 0 {
				t.Errorf("VMs left on the simulated host: %v", n)
			}
		})
	}
}
