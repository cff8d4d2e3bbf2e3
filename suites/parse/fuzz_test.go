package parse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Seeds come from the transcripts (real formats) plus testdata/fuzz; every
// parser must accept hostile input without panicking, and keep its own
// invariants.

func transcriptSeeds(f *testing.F, pattern string) {
	f.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", "fixtures", "transcripts", "*", pattern))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
}

func FuzzSections(f *testing.F) {
	f.Add("@@@ a\nx\n@@@ b\ny\n")
	f.Add("junk\n@@@ \n@@@ a\n@@@ a\n")
	transcriptSeeds(f, "*/healthy.txt")
	f.Fuzz(func(t *testing.T, s string) {
		m := Sections(s)
		for k, v := range m {
			if strings.Contains(v, "\n"+SectionMarker+k+"\n") {
				t.Fatalf("section %q swallowed its own marker", k)
			}
		}
		_ = KeyValues(s, "=")
	})
}

func FuzzBusDevices(f *testing.F) {
	f.Add("@@@ /sys/bus/virtio/devices/virtio0\ndevice=0x0001\ndriver=../../bus/virtio/drivers/virtio_net\n")
	f.Add("@@@ /sys/bus/vmbus/devices/x\nclass_id={F8615163-DF3E-46C5-913F-F2D2F965ED0E}\ndriver=\n")
	f.Add("@@@ /sys/bus/virtio/devices/\ndevice=0xZZ\n")
	transcriptSeeds(f, "drivers/*.txt")
	f.Fuzz(func(t *testing.T, s string) {
		for _, d := range BusDevices(s) {
			if d.Bus != "virtio" && d.Bus != "vmbus" {
				t.Fatalf("bus %q", d.Bus)
			}
			if d.Kind == "" {
				t.Fatal("empty kind")
			}
			if strings.Contains(d.Driver, "/") {
				t.Fatalf("driver %q not a base name", d.Driver)
			}
		}
	})
}

func FuzzDmesg(f *testing.F) {
	f.Add("[    0.000000] Hypervisor detected: KVM\n[    0.1] kvm-clock: Using msrs 4b564d01 and 4b564d00\n")
	f.Add("<6>[ 1.180354] hv_vmbus: Vmbus version:5.3\n")
	f.Add("[ 99999999999999999999.1] x\n[\n]")
	transcriptSeeds(f, "console/*.log")
	f.Fuzz(func(t *testing.T, s string) {
		ls := Dmesg(s)
		for _, l := range ls {
			if l.Time < -1 {
				t.Fatalf("time %v", l.Time)
			}
		}
		_ = HypervisorDetected(ls)
		_ = VMBusVersion(ls)
		if m := KVMClockMSRs(ls); m != nil && len(m) != 2 {
			t.Fatalf("msrs %v", m)
		}
	})
}

func FuzzModules(f *testing.F) {
	f.Add("Module                  Size  Used by\nvirtio_net 69632 0\nnet_failover 24576 1 virtio_net\n")
	f.Add("virtio_net 69632 0 - Live 0xffffffffc0000000\nfailover 16384 1 net_failover, Live 0x0\n")
	f.Add("kernel/drivers/net/virtio_net.ko.xz\nvirtio-blk\n")
	f.Fuzz(func(t *testing.T, s string) {
		for name := range Modules(s) {
			if strings.Contains(name, "-") {
				t.Fatalf("name %q not normalised", name)
			}
		}
		for name := range ModuleSet(s) {
			if strings.ContainsAny(name, "/-") {
				t.Fatalf("set name %q not normalised", name)
			}
		}
	})
}

func FuzzChronyc(f *testing.F) {
	f.Add("Reference ID    : C0A89601 (192.168.150.1)\nStratum : 3\nSystem time     : 0.000021473 seconds slow of NTP time\nLeap status     : Normal\n")
	f.Add("506 Cannot talk to daemon\n")
	f.Add("^* 192.168.150.1  2 6 377 23 +12us[ +33us] +/- 11ms\n^? x\n=x y 1 2 0\n")
	transcriptSeeds(f, "clock/*.txt")
	f.Fuzz(func(t *testing.T, s string) {
		tr := ChronyTracking(s)
		if tr.Synchronised() && (tr.DaemonDown || !tr.Valid) {
			t.Fatal("synchronised without a valid report")
		}
		for _, src := range ChronySources(s) {
			if src.Selected != (src.State == "*") {
				t.Fatal("selected mismatch")
			}
		}
	})
}

func FuzzCPUInfo(f *testing.F) {
	f.Add("processor : 0\nflags : fpu tsc constant_tsc hypervisor\n\nprocessor : 1\nflags : fpu\n")
	f.Add("flags:\n:\n::::\n")
	transcriptSeeds(f, "platform/healthy.txt")
	f.Fuzz(func(t *testing.T, s string) {
		c := ParseCPUInfo(s)
		for fl := range c.Flags {
			if strings.ContainsAny(fl, " \t\n") {
				t.Fatalf("flag %q", fl)
			}
		}
		_ = OSRelease(s)
	})
}

func FuzzClock(f *testing.F) {
	f.Add("1732233600.123456789\n")
	f.Add("1732233600.N\n")
	f.Add("2026-11-21 23:45:12.123456+00:00\n")
	f.Add("Sat Nov 21 23:45:12 2026  0.000000 seconds\n")
	f.Add(`{"seq":1,"real_ns":1732233600123456789,"mono_ns":5}`)
	f.Add(`{"iterations":10,"decreases":0}`)
	f.Fuzz(func(t *testing.T, s string) {
		if tm, precise, ok := EpochSeconds(s); ok && precise && tm.Nanosecond() < 0 {
			t.Fatal("negative ns")
		}
		_, _ = RTCTime(s)
		xs := Series(s)
		if n, w := Backwards(xs); n < 0 || w < 0 {
			t.Fatal("negative")
		}
		_, _, _ = ClockReply([]byte(s))
		_, _ = ParseMono([]byte(s))
	})
}

func FuzzConsole(f *testing.F) {
	f.Add([]byte("[ 1.0] Kernel panic - not syncing: x\n\x1b[0;1;39mOK\x1b[0m\r\n"), "allow:\n  - pattern: 'x'\n    reason: r\n    expires: 2030-01-01\n")
	f.Add([]byte("\xff\xfe WARNING: CPU: 0 PID"), "allow: [{pattern: '(', reason: r, expires: 2030-01-01}]")
	files, _ := filepath.Glob(filepath.Join("..", "..", "fixtures", "transcripts", "*", "console", "*.log"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, "")
		}
	}
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte, allow string) {
		al, err := ParseAllowList([]byte(allow), "fuzz")
		if err != nil {
			al = nil
		}
		text := CleanConsole(raw)
		if strings.Contains(text, "\x1b[") || strings.Contains(text, "\r") {
			t.Fatalf("escape left in %q", text)
		}
		for _, fd := range ScanConsole(text, al, now) {
			if fd.Allowed != nil && !now.Before(fd.Allowed.Expires) {
				t.Fatal("expired entry hid a line")
			}
		}
	})
}
