package disk

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/guests/probe"
	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/parse"
)

func transcript(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "transcripts", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// record returns the stdout of a transcript's "@@ tag:" record.
func record(t *testing.T, rel, tag string) (string, int) {
	t.Helper()
	var out []string
	in, found, exit := false, false, 0
	for _, l := range strings.Split(transcript(t, rel), "\n") {
		if strings.HasPrefix(l, "@@ tag:") || strings.HasPrefix(l, "@@ match:") {
			if in {
				break
			}
			in = strings.TrimSpace(l[len("@@ tag:"):]) == tag
			found = found || in
			continue
		}
		if in && strings.HasPrefix(l, "@@ exit:") {
			exit = int(l[len(l)-1] - '0')
			continue
		}
		if in {
			out = append(out, l)
		}
	}
	if !found {
		t.Fatalf("%s: no record %s", rel, tag)
	}
	return strings.Join(out, "\n"), exit
}

func facts(t *testing.T, rel string) DiskFacts {
	s, _ := record(t, rel, "disk")
	return ParseDisk(s)
}

func mustPass(t *testing.T, name string, v suites.Verdict) {
	t.Helper()
	if v.Failed() || len(v.Items) == 0 || v.Skip != "" {
		t.Errorf("%s: want PASS, got\n%s", name, v)
	}
}

func mustFail(t *testing.T, name string, v suites.Verdict, want string) {
	t.Helper()
	if !v.Failed() {
		t.Errorf("%s: want FAIL, got\n%s", name, v)
		return
	}
	if !strings.Contains(strings.Join(v.Failures(), "\n"), want) {
		t.Errorf("%s: failures %q do not mention %q", name, v.Failures(), want)
	}
}

var kvmDrv, hvDrv = []string{"virtio_blk", "virtio_scsi"}, []string{"storvsc"}

func TestJudgeDriver(t *testing.T) {
	mustPass(t, "kvm", JudgeDriver(facts(t, "kvm/disk/healthy.txt"), kvmDrv))
	mustPass(t, "tiny", JudgeDriver(facts(t, "kvm/disk/tiny-initramfs.txt"), kvmDrv))
	mustPass(t, "gen1", JudgeDriver(facts(t, "hyperv-gen1/disk/healthy.txt"), hvDrv))
	mustPass(t, "gen2", JudgeDriver(facts(t, "hyperv-gen2/disk/healthy.txt"), hvDrv))
	mustFail(t, "kvm ide", JudgeDriver(facts(t, "kvm/disk/faulty-emulated-ide.txt"), kvmDrv), "ata_piix")
	mustFail(t, "gen1 ata_piix", JudgeDriver(facts(t, "hyperv-gen1/disk/faulty-ata-piix.txt"), hvDrv), "ata_piix")
	mustFail(t, "kvm on hyperv", JudgeDriver(facts(t, "kvm/disk/healthy.txt"), hvDrv), "virtio_blk")
}

func integrity(t *testing.T, rel string) probe.IntegrityResult {
	s, _ := record(t, rel, "vcprobe-integrity")
	var r probe.IntegrityResult
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestJudgeIntegrity(t *testing.T) {
	mustPass(t, "kvm", JudgeIntegrity(integrity(t, "kvm/disk/healthy.txt")))
	mustPass(t, "gen2", JudgeIntegrity(integrity(t, "hyperv-gen2/disk/healthy.txt")))
	mustPass(t, "tiny", JudgeIntegrity(integrity(t, "kvm/disk/tiny-initramfs.txt")))
	mustFail(t, "read-only fs", JudgeIntegrity(integrity(t, "kvm/disk/faulty-rofs.txt")), "read-only file system")
	mustFail(t, "tiny rodisk", JudgeIntegrity(integrity(t, "kvm/disk/tiny-rodisk.txt")), "write refused")
	mustFail(t, "corrupt", JudgeIntegrity(integrity(t, "kvm/disk/faulty-corrupt.txt")), "3 of 32768 blocks differ")
	mustFail(t, "gen2 corrupt", JudgeIntegrity(integrity(t, "hyperv-gen2/disk/faulty-corrupt.txt")), "73400320")
	mustFail(t, "short read", JudgeIntegrity(probe.IntegrityResult{Blocks: 10, Verified: 4, ReadError: "read at 16384: input/output error"}), "input/output error")
}

// TestIntegrityOnRealFile runs the real pattern code and judges its
// result: a clean file passes, a flipped byte fails.
func TestIntegrityOnRealFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	mustPass(t, "clean", JudgeIntegrity(probe.Integrity(p, 1<<20, 7, "both", true)))
	probe.Integrity(p, 1<<20, 8, "write", true)
	f, _ := os.OpenFile(p, os.O_RDWR, 0)
	f.WriteAt([]byte("X"), 5000)
	f.Close()
	mustFail(t, "flipped", JudgeIntegrity(probe.Integrity(p, 1<<20, 8, "verify", true)), "1 of 256 blocks differ")
}

func TestIntegrityTarget(t *testing.T) {
	p, raw, _, ok := IntegrityTarget(facts(t, "kvm/disk/healthy.txt"))
	if !ok || raw || !strings.HasPrefix(p, "/var/tmp/") {
		t.Errorf("kvm: %s raw=%v ok=%v", p, raw, ok)
	}
	p, raw, _, ok = IntegrityTarget(facts(t, "kvm/disk/tiny-initramfs.txt"))
	if !ok || !raw || p != "/dev/vda" {
		t.Errorf("tiny: %s raw=%v ok=%v", p, raw, ok)
	}
	// A disk with data on it is never overwritten.
	f := facts(t, "kvm/disk/tiny-initramfs.txt")
	f.Head["vda"] = "ext4data"
	if p, _, why, ok := IntegrityTarget(f); ok {
		t.Errorf("non-blank disk chosen: %s", p)
	} else if !strings.Contains(why, "no writable scratch") {
		t.Error(why)
	}
	// An unreadable disk is not taken for blank.
	g := ParseDisk(strings.Replace(func() string { s, _ := record(t, "kvm/disk/tiny-initramfs.txt", "disk"); return s }(), "readable=1", "readable=0", 1))
	if p, _, _, ok := IntegrityTarget(g); ok {
		t.Errorf("unreadable disk chosen: %s", p)
	}
}

func benches(t *testing.T, rel string) []Bench {
	var out []Bench
	for _, m := range []string{"seqwrite", "seqread", "randwrite", "randread"} {
		s, _ := record(t, rel, "vcprobe-"+m)
		var r probe.DiskResult
		if err := json.Unmarshal([]byte(s), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, Bench{Mode: m, Source: "vcprobe", MBps: r.MBps, IOPS: r.IOPS})
		fs, _ := record(t, rel, "fio-"+m)
		jobs, err := parse.Fio(fs)
		if err != nil {
			t.Fatal(err)
		}
		b := Bench{Mode: m, Source: "fio", MBps: jobs[0].WriteBW / 1e6, IOPS: jobs[0].WriteIOPS}
		if strings.HasSuffix(m, "read") {
			b.MBps, b.IOPS = jobs[0].ReadBW/1e6, jobs[0].ReadIOPS
		}
		out = append(out, b)
	}
	return out
}

func TestJudgeBench(t *testing.T) {
	seq := map[string]float64{"seqread": 200, "seqwrite": 100}
	rnd := map[string]float64{"randread": 5000, "randwrite": 2000}
	for _, p := range []string{"kvm", "hyperv-gen1", "hyperv-gen2"} {
		b := benches(t, p+"/disk/healthy.txt")
		mustPass(t, p+" seq", JudgeBench(b, seq))
		mustPass(t, p+" rand", JudgeBench(b, rnd))
		ag := Agreement(b, 10)
		if len(ag) != 4 {
			t.Fatalf("%s: %d agreement notes", p, len(ag))
		}
		for _, it := range ag {
			if !it.OK {
				t.Errorf("%s: %s: %s", p, it.Step, it.Actual)
			}
		}
	}
	slow := benches(t, "kvm/disk/faulty-slow.txt")
	mustFail(t, "slow seq", JudgeBench(slow, seq), "seqread (vcprobe): 19.7 MB/s")
	mustFail(t, "slow iops", JudgeBench(slow, rnd), "300.0 IOPS")
	mustPass(t, "slow but tcg floors", JudgeBench(slow, map[string]float64{"seqread": 5, "randread": 100}))
	mustPass(t, "fio disagreement is not a guest verdict", JudgeBench(slow, map[string]float64{"seqwrite": 1}))
	var noted bool
	for _, it := range Agreement(slow, 10) {
		if !it.OK && strings.Contains(it.Actual, "fio 55.0 vs vcprobe 19.7") {
			noted = true
		}
	}
	if !noted {
		t.Errorf("disagreement not noted: %+v", Agreement(slow, 10))
	}
	mustFail(t, "not measured", JudgeBench(nil, seq), "not measured")
	mustFail(t, "vcprobe error", JudgeBench([]Bench{{Mode: "seqread", Source: "vcprobe", Err: "open /dev/vda: permission denied"}}, map[string]float64{"seqread": 1}), "permission denied")
}

func TestJudgeBlockSizes(t *testing.T) {
	mustPass(t, "kvm", JudgeBlockSizes(facts(t, "kvm/disk/healthy.txt"), []string{"512"}, []string{"512", "4096"}, 4096))
	mustPass(t, "gen2", JudgeBlockSizes(facts(t, "hyperv-gen2/disk/healthy.txt"), []string{"512"}, []string{"512", "4096"}, 4096))
	mustFail(t, "sector 63", JudgeBlockSizes(facts(t, "kvm/disk/faulty-misaligned.txt"), []string{"512"}, []string{"512", "4096"}, 4096), "sector 63")
	mustFail(t, "gen2 on a 512-only profile", JudgeBlockSizes(facts(t, "hyperv-gen2/disk/healthy.txt"), []string{"512"}, []string{"512"}, 4096), "4096")
}

func TestJudgeDiscard(t *testing.T) {
	trim := func(rel string) Trim {
		s, exit := record(t, rel, "fstrim")
		return Trim{Ran: true, Exit: exit, Out: s}
	}
	mustPass(t, "kvm", JudgeDiscard(facts(t, "kvm/disk/healthy.txt"), true, trim("kvm/disk/healthy.txt")))
	mustPass(t, "gen1", JudgeDiscard(facts(t, "hyperv-gen1/disk/healthy.txt"), true, trim("hyperv-gen1/disk/healthy.txt")))
	mustPass(t, "tiny, no fstrim", JudgeDiscard(facts(t, "kvm/disk/tiny-initramfs.txt"), true, Trim{}))
	mustFail(t, "kvm nodiscard", JudgeDiscard(facts(t, "kvm/disk/faulty-nodiscard.txt"), true, trim("kvm/disk/faulty-nodiscard.txt")), "granularity 0")
	mustFail(t, "gen2 nodiscard", JudgeDiscard(facts(t, "hyperv-gen2/disk/faulty-nodiscard.txt"), true, trim("hyperv-gen2/disk/faulty-nodiscard.txt")), "not supported")
	mustPass(t, "not required", JudgeDiscard(facts(t, "kvm/disk/faulty-nodiscard.txt"), false, Trim{}))
}

func TestJudgeHotplug(t *testing.T) {
	ok := HotplugObs{Appeared: true, Name: "vdb", AppearAfter: 2 * time.Second, Bytes: 64 << 20, Gone: true}
	mustPass(t, "exact", JudgeHotplug(ok, 64, 30*time.Second))
	small := ok
	small.Bytes = 63 << 20
	mustFail(t, "wrong size", JudgeHotplug(small, 64, 30*time.Second), "66060288 bytes")
	slow := ok
	slow.AppearAfter = 45 * time.Second
	mustFail(t, "slow", JudgeHotplug(slow, 64, 30*time.Second), "45s")
	trace := ok
	trace.Traces = TraceLines("[  9.1] sd 0:0:1:0: rejecting I/O to offline device\n[  9.2] Call Trace:\n")
	mustFail(t, "trace", JudgeHotplug(trace, 64, 30*time.Second), "rejecting I/O")
	mustFail(t, "never", JudgeHotplug(HotplugObs{}, 64, 30*time.Second), "never appeared")
}

func TestJudgeRootIdentity(t *testing.T) {
	allowed := []string{"UUID", "PARTUUID", "LABEL"}
	mustPass(t, "kvm partuuid", JudgeRootIdentity(facts(t, "kvm/disk/healthy.txt"), allowed))
	mustPass(t, "gen1 uuid", JudgeRootIdentity(facts(t, "hyperv-gen1/disk/healthy.txt"), allowed))
	mustFail(t, "kvm /dev/vda1", JudgeRootIdentity(facts(t, "kvm/disk/faulty-misaligned.txt"), allowed), "/dev/vda1")
	mustFail(t, "gen1 /dev/sda1", JudgeRootIdentity(facts(t, "hyperv-gen1/disk/faulty-ata-piix.txt"), allowed), "/dev/sda1 (a kernel device name)")
	if v := JudgeRootIdentity(facts(t, "kvm/disk/tiny-initramfs.txt"), allowed); v.Skip == "" {
		t.Errorf("tiny guest: want SKIP, got %s", v)
	}
	mustFail(t, "only UUID allowed", JudgeRootIdentity(facts(t, "kvm/disk/healthy.txt"), []string{"UUID"}), "PARTUUID")
}

func TestLsblk(t *testing.T) {
	devs, err := parse.LsblkJSON(transcript(t, "kvm/disk/lsblk.json"))
	if err != nil {
		t.Fatal(err)
	}
	all := parse.Flatten(devs)
	if len(all) != 5 || all[1].Name != "vda" || all[2].Get("mountpoints") != "/" || all[1].Uint("disc-gran") != 512 {
		t.Fatalf("lsblk -J: %+v", all)
	}
	hv, err := parse.LsblkJSON(transcript(t, "hyperv-gen2/disk/lsblk.json"))
	if err != nil || hv[0].Get("vendor") != "Msft    " || hv[0].Get("phy-sec") != "4096" {
		t.Fatalf("hyperv lsblk: %+v %v", hv, err)
	}
	ps := parse.LsblkPairs(transcript(t, "kvm/disk/lsblk-pairs.txt"))
	if len(ps) != 5 || ps[4].Get("mountpoint") != "/mnt/my data" || ps[1].Uint("disc-max") != 2147483136 {
		t.Fatalf("lsblk -P: %+v", ps)
	}
}

// TestProfiles: every built-in profile carries every key the disk checks
// declare.
func TestProfiles(t *testing.T) {
	ps, err := suites.BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kvm", "kvm-tcg", "hyperv-gen1", "hyperv-gen2"} {
		for _, c := range suites.All() {
			if c.Area != "disk" {
				continue
			}
			for _, k := range c.Keys {
				if !ps[name].Has(c.ID, k) {
					t.Errorf("%s: %s.%s missing", name, c.ID, k)
				}
			}
		}
	}
}

func TestMedianBench(t *testing.T) {
	// Three interleaved rounds: the outlier round (host load spike) does
	// not move the figure; a failed round is left out, not counted as 0.
	got := MedianBench([]Bench{
		{Mode: "randwrite", Source: "fio", IOPS: 1600, MBps: 6.5},
		{Mode: "randwrite", Source: "fio", IOPS: 400, MBps: 1.6},
		{Mode: "randwrite", Source: "fio", IOPS: 1500, MBps: 6.1},
	})
	if got.IOPS != 1500 || got.MBps != 6.1 || got.Err != "" || got.Source != "fio" || got.Mode != "randwrite" {
		t.Fatalf("median of three: %+v", got)
	}
	got = MedianBench([]Bench{
		{Mode: "seqread", Source: "vcprobe", Err: "EIO"},
		{Mode: "seqread", Source: "vcprobe", MBps: 100},
		{Mode: "seqread", Source: "vcprobe", MBps: 200},
	})
	if got.MBps != 150 || got.Err != "" {
		t.Fatalf("median skipping a failed round: %+v", got)
	}
	got = MedianBench([]Bench{{Mode: "seqread", Source: "vcprobe", Err: "EIO"}})
	if got.Err != "EIO" {
		t.Fatalf("all rounds failed must carry the error: %+v", got)
	}
}
