package plan

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"unicode"
)

// Input bounds. A plan is a short hand-written file: anything larger is a
// mistake (or /dev/zero) and is refused before it is read into memory.
const (
	// MaxPlanBytes bounds a plan file.
	MaxPlanBytes = 1 << 20
	// MaxStringBytes bounds any string value in a plan (a path, a kernel
	// command line, a host key).
	MaxStringBytes = 4096
	// MaxNameBytes bounds the plan's name, which every report repeats.
	MaxNameBytes = 200
)

// readPlanFile reads a plan: it must be a regular file (a symlink is
// followed to one; a device, FIFO, socket or directory is refused without
// reading it) of at most MaxPlanBytes.
func readPlanFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, errors.New("cannot read plan: " + unwrapPathError(err))
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("a plan must be a regular file, not %s", modeName(st.Mode()))
	}
	// O_NONBLOCK: had the file been swapped for a FIFO since the Stat,
	// opening it must not wait for a writer; the Fstat below refuses it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, errors.New("cannot read plan: " + unwrapPathError(err))
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, errors.New("a plan must be a regular file")
	}
	if st.Size() > MaxPlanBytes {
		return nil, fmt.Errorf("plan is %d bytes; a plan is at most %d (1 MiB)", st.Size(), MaxPlanBytes)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxPlanBytes+1))
	if err != nil {
		return nil, errors.New("cannot read plan: " + unwrapPathError(err))
	}
	if len(b) > MaxPlanBytes {
		return nil, fmt.Errorf("plan grew past %d bytes (1 MiB) while being read", MaxPlanBytes)
	}
	return b, nil
}

func modeName(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeCharDevice != 0, m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "a special file"
}

// checkScalar bounds one string value of the plan and refuses control
// characters in it (a plan value is printed on terminals and written into
// every report). The message never repeats the value.
func checkScalar(path, v string) string {
	limit := MaxStringBytes
	if path == "name" || path == "key" {
		limit = MaxNameBytes
	}
	if len(v) > limit {
		return fmt.Sprintf("too long: %d bytes, at most %d", len(v), limit)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return fmt.Sprintf("control character %q not allowed", r)
		}
	}
	return ""
}
