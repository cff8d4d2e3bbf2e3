// Package buildinfo says which virtcert this is: the module version, the
// VCS revision and whether the tree was modified, and the Go toolchain.
//
// Release builds are stamped by the Makefile (make build VERSION=v1.2.3):
//
//	go build -ldflags "-X github.com/virtcert/virtcert/internal/buildinfo.version=v1.2.3
//	  -X github.com/virtcert/virtcert/internal/buildinfo.revision=<git rev-parse HEAD>
//	  -X github.com/virtcert/virtcert/internal/buildinfo.dirty=true|false"
//
// Whatever is not stamped comes from runtime/debug.ReadBuildInfo: the main
// module's version (set by `go install ...@v1.2.3`, and by Go 1.24+ from
// the VCS in a clone) and the vcs.revision and vcs.modified settings. Go
// records no VCS settings with -buildvcs=false, nor in a git worktree
// (whose .git is a file); then only a stamp says the revision, and an
// unstamped build of the module is "dev".
package buildinfo

import (
	"runtime"
	"runtime/debug"

	"github.com/virtcert/virtcert/reports"
)

// Stamped with -ldflags -X (see the package comment); empty otherwise.
var (
	version  string
	revision string
	dirty    string
)

// Get is this binary's build.
func Get() reports.Build {
	bi, _ := debug.ReadBuildInfo()
	return from(bi, version, revision, dirty)
}

// from merges the stamps with the build info (bi may be nil).
func from(bi *debug.BuildInfo, ver, rev, dty string) reports.Build {
	in := reports.Build{Version: ver, Revision: rev, Dirty: dty == "true", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi == nil {
		if in.Version == "" {
			in.Version = "dev"
		}
		return in
	}
	if bi.GoVersion != "" {
		in.Go = bi.GoVersion
	}
	if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		in.Version = bi.Main.Version
	}
	if in.Version == "" {
		in.Version = "dev"
	}
	if rev != "" {
		return in // a stamped revision carries its own dirty flag
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Revision = s.Value
		case "vcs.modified":
			in.Dirty = s.Value == "true"
		}
	}
	return in
}
