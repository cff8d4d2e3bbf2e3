package parse

import "strings"

// CPUInfo is what the checks read from /proc/cpuinfo.
type CPUInfo struct {
	Processors int
	VendorID   string
	ModelName  string
	// Flags of the first processor (x86 "flags" line).
	Flags map[string]bool
}

// HasFlag reports whether the first processor has flag f.
func (c CPUInfo) HasFlag(f string) bool { return c.Flags[f] }

// ParseCPUInfo parses /proc/cpuinfo (whole, or only the first block).
func ParseCPUInfo(out string) CPUInfo {
	c := CPUInfo{Flags: map[string]bool{}}
	flagsSeen := false
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "processor":
			c.Processors++
		case "vendor_id":
			if c.VendorID == "" {
				c.VendorID = v
			}
		case "model name":
			if c.ModelName == "" {
				c.ModelName = v
			}
		case "flags":
			if !flagsSeen {
				flagsSeen = true
				for _, f := range strings.Fields(v) {
					c.Flags[f] = true
				}
			}
		}
	}
	return c
}

// OSRelease parses /etc/os-release (os-release(5)): KEY=value with
// optional shell quoting; comments and malformed lines are ignored.
func OSRelease(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			continue
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
			if l[len(k)+1] == '"' {
				r := strings.NewReplacer(`\"`, `"`, `\\`, `\`, "\\$", "$", "\\`", "`")
				v = r.Replace(v)
			}
		}
		m[k] = v
	}
	return m
}
