package hyperv

import (
	"context"
	"log/slog"

	"github.com/virtcert/virtcert/drivers"
)

type vhdDirOut struct {
	Path    string
	Created bool
	Problem string // "", NotADirectory, CreateFailed, NotWritable
	Detail  string
}

// preflightVhdDir makes sure the VHD directory exists and the WinRM user
// can write there before any VM is made: vhddir.ps1 creates a missing
// directory and writes a probe file. A problem is the plan's (or the
// host's set-up's) to fix, so it is one input error naming the directory,
// what is wrong and what to do.
func (h *Host) preflightVhdDir(ctx context.Context) error {
	op := "hyperv open: VHD directory"
	var out vhdDirOut
	if err := h.run(ctx, op, "vhddir.ps1", []Arg{{Name: "Path", Value: h.opts.VhdDir}}, &out); err != nil {
		return err
	}
	fix := "name a directory the WinRM user can write with option vhd_dir, or create it on the host and grant that user Modify on it"
	switch out.Problem {
	case "":
		if out.Created {
			slog.Info("hyperv: created the VHD directory on the host", "path", h.opts.VhdDir)
		}
		return nil
	case "NotADirectory":
		return drivers.Errorf(drivers.ClassInput, op, "%q is a file, not a directory: %s", h.opts.VhdDir, fix)
	case "CreateFailed":
		return drivers.Errorf(drivers.ClassInput, op, "%q does not exist and could not be created (%s): %s", h.opts.VhdDir, out.Detail, fix)
	case "NotWritable":
		return drivers.Errorf(drivers.ClassInput, op, "%q is not writable by the WinRM user (%s): %s", h.opts.VhdDir, out.Detail, fix)
	}
	return drivers.Errorf(drivers.ClassHost, op, "vhddir.ps1 reported an unknown problem %q for %q", out.Problem, h.opts.VhdDir)
}
