// Package disk holds the Linux disk I/O checks: storage driver, data
// integrity, throughput and IOPS (vcprobe, and fio where present), block
// sizes and alignment, discard, hot-add/remove and root identity. Each
// check gathers, parses (suites/parse) and judges with a pure function
// unit-tested on fixtures/transcripts/*/disk.
package disk

import (
	"cmp"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/virtcert/virtcert/guests/probe"
	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/parse"
)

// ProbeDisk reads every block device's sysfs facts, the mounts, fstab and
// the kernel command line in one session. The "blocks" line format is
// parsed by parse.SysBlocks.
var ProbeDisk = suites.Sections("disk",
	[2]string{"blocks", blocksProbe},
	[2]string{"mounts", `cat /proc/mounts`},
	[2]string{"fstab", `cat /etc/fstab`},
	[2]string{"cmdline", `cat /proc/cmdline`},
	[2]string{"blank", `for d in /sys/block/*; do n=${d##*/}; case $n in loop*|ram*|zram*|sr*|fd*|dm-*|md*|nbd*) continue;; esac; ` +
		`echo "$n readable=$($S dd if=/dev/$n of=/dev/null bs=4096 count=1 2>/dev/null && echo 1 || echo 0) ` +
		`head=$($S dd if=/dev/$n bs=4096 count=1 2>/dev/null | tr -d '\000' | head -c 8 | tr -c 'A-Za-z0-9' '_')"; done`},
)

// blocksProbe prints one line per block device (parse.SysBlocks).
const blocksProbe = suites.ShellReaders + blockFns + `for d in /sys/block/*; do n=${d##*/}; l="$n"; ` +
	`for f in size ro removable; do vc_get $d/$f; l="$l $f=$vc_v"; done; ` +
	`vc_link $d/device; vc_host "$vc_v"; vc_link $d/device/driver; l="$l driver=$vc_v host="; ` +
	`[ -n "$vc_h" ] && vc_get /sys/class/scsi_host/$vc_h/proc_name && l="$l$vc_v"; ` +
	`vc_get $d/device/vendor; vc_nosp "$vc_v"; l="$l vendor=$vc_s"; ` +
	`for f in logical_block_size:lbs physical_block_size:pbs discard_granularity:dgran discard_max_bytes:dmax; do ` +
	`vc_get $d/queue/${f%:*}; l="$l ${f#*:}=$vc_v"; done; ` +
	`p=; for q in $d/$n*; do [ -e "$q/start" ] && { vc_get $q/start; p="$p${q##*/}:$vc_v,"; }; done; ` +
	`echo "$l parts=$p"; done`

// blockFns are the blocks probe's own shell functions, builtins only (see
// suites.ShellReaders); they set vc_ variables, as POSIX sh has no local
// ones:
//   - vc_host P sets vc_h to P's last element "host" + digits that has
//     another element below it (a device's SCSI host), the one
//     sed 's#.*/\(host[0-9]*\)/.*#\1#p' picks from an absolute path;
//   - vc_nosp S sets vc_s to S without its spaces, as tr -d ' ' (SCSI
//     pads vendor names to 8 characters).
const blockFns = `vc_host() { vc_h=; vc_p=${1%/*}; while case $vc_p in /*) [ -z "$vc_h" ];; *) false;; esac; do ` +
	`vc_e=${vc_p##*/}; vc_p=${vc_p%/*}; case $vc_e in host*[!0-9]*) ;; host*) vc_h=$vc_e;; esac; done; }; ` +
	`vc_nosp() { vc_s=; vc_p=$1; while [ -n "$vc_p" ]; do vc_e=${vc_p%%" "*}; vc_s="$vc_s$vc_e"; ` +
	`[ "$vc_e" = "$vc_p" ] && break; vc_p=${vc_p#*" "}; done; }; `

// DiskFacts is what ProbeDisk yields.
type DiskFacts struct {
	Blocks  []parse.SysBlock
	Mounts  []parse.Mount
	Fstab   []parse.Mount
	Cmdline map[string]string
	// Head is the first bytes of each disk with NULs removed: "" for a
	// blank disk, "VCPROBE1" for one holding an earlier integrity pattern.
	Head map[string]string
}

// ParseDisk parses ProbeDisk output.
func ParseDisk(out string) DiskFacts {
	s := parse.Sections(out)
	f := DiskFacts{Blocks: parse.SysBlocks(s["blocks"]), Mounts: parse.Mounts(s["mounts"]), Cmdline: parse.KernelCmdline(s["cmdline"]), Head: map[string]string{}}
	if !parse.Missing(s["fstab"]) {
		f.Fstab = parse.Mounts(s["fstab"])
	}
	for _, l := range parse.KVLines(s["blank"]) {
		// A disk we could not read is never taken for blank.
		if h, ok := l.KV["head"]; ok && l.KV["readable"] == "1" {
			f.Head[l.Name] = h
		}
	}
	return f
}

// Disks returns the real disks (no loop, ram, optical...), sorted.
func (f DiskFacts) Disks() []parse.SysBlock {
	var out []parse.SysBlock
	for _, b := range f.Blocks {
		if !b.Virtual() && b.Sectors > 0 {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// DriverOf names what drives a disk: the SCSI host adapter for sd*
// (virtio_scsi, storvsc, ata_piix), else the block driver (virtio_blk).
func DriverOf(b parse.SysBlock) string {
	if b.HostProc != "" {
		return b.HostProc
	}
	return b.Driver
}

// RootFS returns the root mount.
func (f DiskFacts) RootFS() (parse.Mount, bool) { return parse.MountAt(f.Mounts, "/") }

// InitramfsRoot reports whether / is a RAM filesystem (the tiny guest).
func (f DiskFacts) InitramfsRoot() bool {
	m, ok := f.RootFS()
	return !ok || m.FSType == "rootfs" || m.FSType == "tmpfs" || m.FSType == "ramfs"
}

// JudgeDriver: every disk is driven by an expected paravirtual driver.
func JudgeDriver(f DiskFacts, expect []string) suites.Verdict {
	var v suites.Verdict
	disks := f.Disks()
	var all []string
	for _, d := range disks {
		all = append(all, d.Name+"("+cmp.Or(DriverOf(d), "(none)")+")")
	}
	v.Add("guest has disks", len(disks) > 0, "at least one disk", fmt.Sprintf("%d: %s", len(disks), strings.Join(all, " ")), "", "")
	for _, d := range disks {
		drv := DriverOf(d)
		act := cmp.Or(drv, "(none)")
		if d.Vendor != "" {
			act += " (vendor " + d.Vendor + ")"
		}
		v.Add("storage driver of "+d.Name, in(expect, drv), strings.Join(expect, " or "), act, "", "expect")
	}
	return v
}

// JudgeIntegrity: the pattern was written, synced and read back intact.
func JudgeIntegrity(r probe.IntegrityResult) suites.Verdict {
	var v suites.Verdict
	where := fmt.Sprintf("%s (%d MiB, direct=%v)", r.Path, r.Size>>20, r.Direct)
	v.Add("write pattern to "+where, r.WriteError == "", "all blocks written", ifElse(r.WriteError == "", fmt.Sprintf("%d bytes written", r.Written), "write refused: "+r.WriteError), "", "size_mb")
	if r.WriteError != "" {
		return v
	}
	v.Add("fsync", r.SyncError == "", "ok", ifElse(r.SyncError == "", "ok", r.SyncError), "", "")
	if r.SyncError != "" {
		return v
	}
	v.Add("read back", r.ReadError == "" && r.Verified == r.Blocks, fmt.Sprintf("%d blocks", r.Blocks),
		ifElse(r.ReadError == "", fmt.Sprintf("%d blocks", r.Verified), r.ReadError), "", "")
	bad := "none"
	if r.Mismatches > 0 {
		offs := make([]string, len(r.BadOffsets))
		for i, o := range r.BadOffsets {
			offs[i] = strconv.FormatInt(o, 10)
		}
		bad = fmt.Sprintf("%d of %d blocks differ (first at byte offsets %s)", r.Mismatches, r.Blocks, strings.Join(offs, ","))
	}
	v.Add("blocks read back equal to what was written", r.Mismatches == 0 && r.ReadError == "", "0 mismatches", bad, "", "")
	return v
}

// IntegrityTarget picks where the integrity pass writes: a file on the
// root filesystem when it is a real disk; on an initramfs guest a file on
// a mounted disk filesystem; else a whole disk that is blank (or holds an
// earlier pattern), has no partitions and is not mounted. ok=false with a
// reason when nothing is safe to overwrite.
func IntegrityTarget(f DiskFacts) (path string, raw bool, why string, ok bool) {
	if !f.InitramfsRoot() {
		return "/var/tmp/vcprobe-integrity.bin", false, "file on the root filesystem", true
	}
	for _, m := range f.Mounts {
		if strings.HasPrefix(m.Source, "/dev/") && !strings.HasPrefix(m.Source, "/dev/sr") && m.Target != "/" {
			return strings.TrimSuffix(m.Target, "/") + "/vcprobe-integrity.bin", false, "file on " + m.Source + " mounted at " + m.Target, true
		}
	}
	mounted := map[string]bool{}
	for _, m := range f.Mounts {
		mounted[strings.TrimPrefix(m.Source, "/dev/")] = true
	}
	for _, d := range f.Disks() {
		if len(d.Parts) > 0 || mounted[d.Name] {
			continue
		}
		if h, seen := f.Head[d.Name]; seen && (h == "" || h == "VCPROBE1") {
			return "/dev/" + d.Name, true, "whole disk /dev/" + d.Name + " (blank, unpartitioned, unmounted)", true
		}
	}
	return "", false, "no writable scratch space: / is a RAM filesystem and no blank unpartitioned disk or mounted disk filesystem exists", false
}

func in(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func ifElse(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}
