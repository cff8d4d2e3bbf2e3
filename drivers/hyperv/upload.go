package hyperv

import (
	"context"
	"fmt"
	"strings"

	"github.com/virtcert/virtcert/drivers"
)

// putFileVerified uploads data to path on the host through put.ps1
// (base64 chunks, decoded by PowerShell) and checks its SHA-256 there: a
// mismatch leaves no file and is an error.
func (h *Host) putFileVerified(ctx context.Context, data []byte, path string) error {
	op := "hyperv upload " + path
	if err := safeHostPath(path); err != nil {
		return drivers.Wrap(drivers.ClassInput, op, err)
	}
	h.mu.Lock()
	h.uploads++
	stage := hostJoin(h.dir, fmt.Sprintf("upload-%d.b64", h.uploads))
	h.mu.Unlock()
	put := hostJoin(h.dir, "put.ps1")
	// put.ps1 removes the staged base64 when it decodes it. Whatever else
	// happens (a failed chunk, a broken connection, an interrupted run) it
	// is deleted here, with its own CallTimeout, so no upload-N.b64 stays
	// on the host.
	decoded := false
	defer func() {
		if !decoded {
			if cl, err := DelCommand(stage); err == nil {
				_ = h.mustExec(context.WithoutCancel(ctx), op+": clean", cl)
			}
		}
	}()
	enc := base64Std(data)
	for i := 0; i < len(enc); i += chunkSize {
		args := []Arg{{Name: "Stage", Value: stage}, {Name: "Chunk", Value: enc[i:min(i+chunkSize, len(enc))]}}
		if err := h.put(ctx, op, put, args); err != nil {
			return err
		}
	}
	want := sha256hex(data)
	cl, err := psFileCommand(put, []Arg{{Name: "Path", Value: path}, {Name: "Stage", Value: stage}, {Name: "Sha256", Value: want}})
	if err != nil {
		return drivers.Wrap(drivers.ClassInput, op, err)
	}
	out, err := h.exec(ctx, op+": decode", cl)
	if err != nil {
		return err
	}
	decoded = out.Exit == 0
	if out.Exit != 0 {
		if pe, ok := ParsePSError(out.Stderr); ok && pe.Kind() == "VcSha256Mismatch" {
			return drivers.Errorf(drivers.ClassHost, op, "arrived corrupted on the host (%s)", pe.Message)
		}
		return scriptFailure(op+": decode", "put.ps1", out)
	}
	if got := strings.TrimSpace(string(stripBOM(out.Stdout))); got != want {
		return drivers.Errorf(drivers.ClassHost, op, "arrived corrupted on the host (sha256 %q, want %s)", got, want)
	}
	return nil
}

// put runs put.ps1 once (one chunk); its command line must fit cmd.exe.
func (h *Host) put(ctx context.Context, op, put string, args []Arg) error {
	cl, err := psFileCommand(put, args)
	if err != nil {
		return drivers.Wrap(drivers.ClassInput, op, err)
	}
	if len(cl) > 8191 {
		return drivers.Errorf(drivers.ClassInput, op, "host paths too long for a command line (%d characters)", len(cl))
	}
	return h.mustExec(ctx, op, cl)
}
