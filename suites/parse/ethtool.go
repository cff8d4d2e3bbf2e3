package parse

import "strings"

// EthtoolInfo parses `ethtool -i IF` ("driver: virtio_net" lines).
func EthtoolInfo(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if k == "" || strings.ContainsAny(k, " \t") {
			continue
		}
		m[k] = strings.TrimSpace(v)
	}
	return m
}

// Feature is one line of `ethtool -k IF`.
type Feature struct {
	On    bool
	Fixed bool // "[fixed]": the driver does not let it change
}

// EthtoolFeatures parses `ethtool -k IF`: "name: on|off [fixed]"; the
// "Features for eth0:" header and indented sub-features are included.
func EthtoolFeatures(out string) map[string]Feature {
	m := map[string]Feature{}
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		f := strings.Fields(v)
		if k == "" || strings.Contains(k, " ") || len(f) == 0 || (f[0] != "on" && f[0] != "off") {
			continue
		}
		m[k] = Feature{On: f[0] == "on", Fixed: strings.Contains(v, "[fixed]")}
	}
	return m
}
