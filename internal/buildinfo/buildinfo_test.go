package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFrom(t *testing.T) {
	vcs := &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abcdef0123456789"}, {Key: "vcs.modified", Value: "true"}}}
	for _, c := range []struct {
		name          string
		bi            *debug.BuildInfo
		ver, rev, dty string
		want          string
	}{
		{"no build info", nil, "", "", "", "dev (revision unknown, "},
		{"devel without vcs: today's dev", &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: "(devel)"}}, "", "", "", "dev (revision unknown, go1.99.1 "},
		{"vcs settings", vcs, "", "", "", "dev (abcdef012345, dirty, go1.99.1 "},
		{"go install @version", &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: "v1.4.0"}}, "", "", "", "v1.4.0 (revision unknown, go1.99.1 "},
		{"stamped release", vcs, "v1.2.3", "", "", "v1.2.3 (abcdef012345, dirty, go1.99.1 "},
		{"stamped revision wins, with its own dirty flag", vcs, "v1.2.3", "fedcba9876543210", "false", "v1.2.3 (fedcba987654, go1.99.1 "},
	} {
		b := from(c.bi, c.ver, c.rev, c.dty)
		if got := b.String(); len(got) < len(c.want) || got[:len(c.want)] != c.want {
			t.Errorf("%s: %q, want prefix %q", c.name, got, c.want)
		}
	}
}
