package hyperv

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

// fileHost is an Executor that plays the host for uploads: put.ps1
// appends a chunk to its stage, or decodes the stage (removing it) and
// answers the SHA-256; del removes; failAt makes the n-th command
// (1-based) fail, broken a transport error instead of an exit status.
type fileHost struct {
	files  map[string][]byte
	n      int
	failAt int
	broken bool
	// cancelAt cancels the caller's context during the n-th command.
	cancelAt int
	cancel   context.CancelFunc
}

func unquote(s string) string { return strings.Trim(s, `"`) }

func (f *fileHost) Exec(ctx context.Context, cl string) (Output, error) {
	f.n++
	if f.n == f.cancelAt {
		f.cancel()
	}
	if err := ctx.Err(); err != nil {
		return Output{}, err
	}
	if f.n == f.failAt {
		if f.broken {
			return Output{}, errors.New("connection reset")
		}
		return Output{Exit: 1, Stderr: []byte("failed")}, nil
	}
	switch {
	case strings.Contains(cl, " -File "):
		return f.put(psArgs(cl))
	case strings.HasPrefix(cl, "del /f /q "):
		delete(f.files, unquote(strings.TrimPrefix(cl, "del /f /q ")))
	default:
		return Output{Exit: 9}, nil
	}
	return Output{}, nil
}

func (f *fileHost) Close() error { return nil }

// psArgs reads the -Name value pairs of a powershell.exe -File command
// line (values are quoted by QuoteArg and hold no spaces here).
func psArgs(cl string) map[string]string {
	_, rest, _ := strings.Cut(cl, " -File ")
	f := strings.Fields(rest)[1:]
	args := map[string]string{}
	for i := 0; i+1 < len(f); i += 2 {
		args[strings.TrimPrefix(f[i], "-")] = unquote(f[i+1])
	}
	return args
}

// put plays put.ps1.
func (f *fileHost) put(a map[string]string) (Output, error) {
	if a["Sha256"] == "" {
		f.files[a["Stage"]] = append(f.files[a["Stage"]], a["Chunk"]...)
		return Output{}, nil
	}
	t := f.files[a["Stage"]]
	delete(f.files, a["Stage"])
	b, err := base64.StdEncoding.DecodeString(string(t))
	if err != nil {
		return Output{Exit: 1}, nil
	}
	f.files[a["Path"]] = b
	return Output{Stdout: []byte(sha256hex(b))}, nil
}

// TestPutFileLeavesNoBase64Behind: a chunk or the decode failing (an exit
// status or a broken connection) leaves no upload-N.b64 on the host, as
// a success does not.
func TestPutFileLeavesNoBase64Behind(t *testing.T) {
	data := bytes.Repeat([]byte("payload "), 2*chunkSize) // 3 chunks of base64
	const dst = `C:\T\vc\file.bin`
	for _, tc := range []struct {
		name     string
		failAt   int // 1-3: the chunks, 4: the decode, 0: none
		broken   bool
		cancelAt int
	}{
		{"success", 0, false, 0},
		{"second chunk fails", 2, false, 0},
		{"last chunk breaks", 3, true, 0},
		{"decode fails", 4, false, 0},
		{"decode breaks", 4, true, 0},
		{"interrupted during a chunk", 0, false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := &fileHost{files: map[string][]byte{}, failAt: tc.failAt, broken: tc.broken, cancelAt: tc.cancelAt, cancel: cancel}
			h := &Host{ex: f, dir: `C:\T\vc`, opts: hostOptions{CallTimeout: time.Minute}}
			err := h.putFileVerified(ctx, data, dst)
			if (err != nil) != (tc.failAt != 0 || tc.cancelAt != 0) {
				t.Fatalf("err = %v", err)
			}
			for name := range f.files {
				if strings.HasSuffix(name, ".b64") {
					t.Errorf("%s left on the host", name)
				}
			}
			if tc.failAt == 0 && tc.cancelAt == 0 && !bytes.Equal(f.files[dst], data) {
				t.Errorf("uploaded %d bytes, host has %d", len(data), len(f.files[dst]))
			}
		})
	}
}
