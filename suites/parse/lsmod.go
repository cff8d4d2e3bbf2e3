package parse

import (
	"strconv"
	"strings"
)

// Module is one loaded kernel module.
type Module struct {
	Name   string
	Size   int64
	Refs   int
	UsedBy []string
}

// Modules parses `lsmod` output or /proc/modules (both have the name,
// size and reference count first; lsmod's header line is skipped). Module
// names are normalised to underscores, as the kernel does.
func Modules(out string) map[string]Module {
	m := map[string]Module{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 3 || f[0] == "Module" {
			continue
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		refs, _ := strconv.Atoi(f[2])
		mod := Module{Name: ModName(f[0]), Size: size, Refs: refs}
		if len(f) > 3 && f[3] != "-" {
			for _, u := range strings.Split(strings.TrimSuffix(f[3], ","), ",") {
				if u != "" && u != "[permanent]" {
					mod.UsedBy = append(mod.UsedBy, u)
				}
			}
		}
		m[mod.Name] = mod
	}
	return m
}

// ModName normalises a module name or path ("kernel/drivers/net/virtio_net.ko.xz",
// "virtio-net") to the kernel's form ("virtio_net").
func ModName(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.Index(s, ".ko"); i >= 0 {
		s = s[:i]
	}
	return strings.ReplaceAll(s, "-", "_")
}

// ModuleSet parses a list of module paths or names, one a line (the
// kernel's modules.builtin, `ls /sys/module`, `lsinitramfs | grep .ko`),
// into a set of normalised names.
func ModuleSet(out string) map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.Contains(l, "No such file") {
			continue
		}
		for _, w := range strings.Fields(l) {
			// `ls -l` style lines: take only tokens that look like a module.
			if n := ModName(w); n != "" {
				if strings.Contains(w, ".ko") || len(strings.Fields(l)) == 1 {
					m[n] = true
				}
			}
		}
	}
	return m
}
