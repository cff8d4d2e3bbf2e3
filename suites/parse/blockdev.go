package parse

import (
	"strconv"
	"strings"
)

// KVLine is one "NAME key=value key=value ..." line, the format of the
// network and disk sysfs probes (one object per line, values without
// spaces).
type KVLine struct {
	Name string
	KV   map[string]string
}

// KVLines parses such lines; a line whose first word has '=' is skipped.
func KVLines(out string) []KVLine {
	var ls []KVLine
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 1 || strings.Contains(f[0], "=") {
			continue
		}
		l := KVLine{Name: f[0], KV: map[string]string{}}
		for _, kv := range f[1:] {
			if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
				l.KV[k] = v
			}
		}
		ls = append(ls, l)
	}
	return ls
}

// SysBlock is one block device as the disk sysfs probe prints it.
type SysBlock struct {
	Name                    string
	Sectors                 uint64 // /sys/block/X/size, 512-byte units
	ReadOnly                bool
	Removable               bool
	Driver                  string // driver of /sys/block/X/device (virtio_blk, sd, sr)
	HostProc                string // SCSI host adapter (/sys/class/scsi_host/hostN/proc_name)
	Vendor                  string // SCSI vendor (Msft, QEMU)
	LogicalBS, PhysicalBS   uint64
	DiscardGran, DiscardMax uint64
	// Parts maps partition name to its start sector (512-byte units).
	Parts map[string]uint64
}

// Bytes is the device size.
func (b SysBlock) Bytes() uint64 { return b.Sectors * 512 }

// Virtual reports whether the device is not a disk (loop, ram, zram,
// device-mapper, md, optical, floppy).
func (b SysBlock) Virtual() bool {
	for _, p := range []string{"loop", "ram", "zram", "dm-", "md", "sr", "fd", "nbd"} {
		if strings.HasPrefix(b.Name, p) {
			return true
		}
	}
	return false
}

// SysBlocks parses the disk sysfs probe.
func SysBlocks(out string) []SysBlock {
	var bs []SysBlock
	for _, l := range KVLines(out) {
		u := func(k string) uint64 { n, _ := strconv.ParseUint(l.KV[k], 10, 64); return n }
		b := SysBlock{Name: l.Name, Sectors: u("size"), ReadOnly: l.KV["ro"] == "1", Removable: l.KV["removable"] == "1",
			Driver: baseName(l.KV["driver"]), HostProc: l.KV["host"], Vendor: l.KV["vendor"],
			LogicalBS: u("lbs"), PhysicalBS: u("pbs"), DiscardGran: u("dgran"), DiscardMax: u("dmax"), Parts: map[string]uint64{}}
		for _, p := range strings.Split(l.KV["parts"], ",") {
			n, s, ok := strings.Cut(p, ":")
			if !ok || n == "" {
				continue
			}
			if v, err := strconv.ParseUint(s, 10, 64); err == nil {
				b.Parts[n] = v
			}
		}
		bs = append(bs, b)
	}
	return bs
}

// Mount is one line of /proc/mounts (or /etc/fstab).
type Mount struct {
	Source, Target, FSType, Options string
}

// Mounts parses /proc/mounts or /etc/fstab (comments and blank lines
// skipped; octal escapes like \040 decoded).
func Mounts(out string) []Mount {
	var ms []Mount
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		m := Mount{Source: unoctal(f[0]), Target: unoctal(f[1]), FSType: f[2]}
		if len(f) > 3 {
			m.Options = f[3]
		}
		ms = append(ms, m)
	}
	return ms
}

func unoctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// MountAt returns the last mount on target (later mounts hide earlier).
func MountAt(ms []Mount, target string) (Mount, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Target == target {
			return ms[i], true
		}
	}
	return Mount{}, false
}

// Fstrim parses `fstrim -v MOUNT` ("/: 1.5 GiB (1610612736 bytes)
// trimmed"), returning the bytes trimmed.
func Fstrim(out string) (uint64, bool) {
	for _, l := range strings.Split(out, "\n") {
		i := strings.Index(l, "(")
		j := strings.Index(l, " bytes) trimmed")
		if i >= 0 && j > i {
			n, err := strconv.ParseUint(strings.TrimSpace(l[i+1:j]), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// KernelCmdline parses /proc/cmdline into key -> value ("" for flags).
func KernelCmdline(out string) map[string]string {
	m := map[string]string{}
	for _, w := range strings.Fields(out) {
		k, v, _ := strings.Cut(w, "=")
		if _, dup := m[k]; !dup {
			m[k] = v
		}
	}
	return m
}
