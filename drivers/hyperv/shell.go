package hyperv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sync"
	"time"

	"github.com/masterzen/winrm"

	"github.com/virtcert/virtcert/drivers"
)

// Shell recycling. A WinRS shell is not meant to live for a whole run:
// Windows counts operations per shell (MaxConcurrentOperationsPerUser,
// 1500 by default; WinRb and Test Kitchen reset their shells below it),
// and every powershell.exe in a shell draws on one MaxMemoryPerShellMB.
// So a shell runs at most recycleAfter commands (option shell_commands)
// and is then deleted once its last command has finished; a command the
// host refuses to start with a quota fault is retried once on a fresh
// shell (it never ran, so the retry is safe).

// DefaultShellCommands is how many commands one shell runs.
const DefaultShellCommands = 300

type shellRef struct {
	s        *winrm.Shell
	used     int // commands started
	inflight int
	retired  bool
	closed   bool
}

// acquire returns the shell for the next command, creating a fresh one
// when there is none or the current one has run its share.
func (w *winrmExecutor) acquire(ctx context.Context) (*shellRef, error) {
	w.mu.Lock()
	var idle *shellRef
	if w.cur != nil && w.cur.used >= w.recycleAfter {
		idle = w.retireLocked(w.cur)
	}
	if w.cur == nil {
		s, err := within(ctx, w.c.CreateShell)
		if err != nil {
			w.mu.Unlock()
			_ = closeShell(idle)
			return nil, classifyWinRM("hyperv open "+w.addr, err)
		}
		w.cur = &shellRef{s: s}
		w.created++
	}
	r := w.cur
	r.used++
	r.inflight++
	w.mu.Unlock()
	_ = closeShell(idle)
	return r, nil
}

// release ends a command on r; retire also takes r out of use (a quota
// fault, a failed request). A retired shell is deleted once idle.
func (w *winrmExecutor) release(r *shellRef, retire bool) {
	w.mu.Lock()
	r.inflight--
	var idle *shellRef
	if retire || r.retired {
		idle = w.retireLocked(r)
	}
	w.mu.Unlock()
	_ = closeShell(idle)
}

// retireLocked takes r out of use and returns it when it can be deleted
// now (no command in flight). Callers hold w.mu.
func (w *winrmExecutor) retireLocked(r *shellRef) *shellRef {
	if w.cur == r {
		w.cur = nil
	}
	r.retired = true
	if r.inflight == 0 && !r.closed {
		r.closed = true
		return r
	}
	return nil
}

// closeShell deletes a shell (bounded: the library ignores contexts).
func closeShell(r *shellRef) error {
	if r == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := within(ctx, func() (struct{}, error) { return struct{}{}, r.s.Close() })
	return err
}

// killShell deletes r at once, commands in flight included: on the host
// this stops an abandoned command (WinRS kills its process).
func (w *winrmExecutor) killShell(r *shellRef) {
	w.mu.Lock()
	if w.cur == r {
		w.cur = nil
	}
	r.retired = true
	kill := !r.closed
	r.closed = true
	w.mu.Unlock()
	if kill {
		_ = closeShell(r)
	}
}

// quotaFaultRE matches the WS-Management fault a host answers when a
// shell's quota is spent (w:QuotaLimit, 0x803381A6).
var quotaFaultRE = regexp.MustCompile(`Subcode>\s*<(?:\w+:)?Value>\s*(?:\w+:)?QuotaLimit\s*<`)

func isQuotaFault(err error) bool { return err != nil && quotaFaultRE.MatchString(err.Error()) }

// Exec runs one command line; a quota fault at its start is retried once
// on a fresh shell.
func (w *winrmExecutor) Exec(ctx context.Context, cmdline string) (Output, error) {
	out, err, quota := w.exec1(ctx, cmdline)
	if quota {
		w.mu.Lock()
		w.retried++
		w.mu.Unlock()
		out, err, _ = w.exec1(ctx, cmdline)
	}
	return out, err
}

// exec1 runs cmdline on the current shell; quota reports that the host
// refused to start it for a shell quota.
func (w *winrmExecutor) exec1(ctx context.Context, cmdline string) (Output, error, bool) {
	r, err := w.acquire(ctx)
	if err != nil {
		return Output{}, err, false
	}
	started := false
	out, err := within(ctx, func() (Output, error) {
		cmd, err := r.s.ExecuteWithContext(ctx, cmdline)
		if err != nil {
			return Output{}, err
		}
		started = true
		return collect(cmd)
	})
	if err != nil {
		if ctx.Err() != nil {
			// Delete the shell before returning: a rollback that follows
			// cannot race a provision still in flight.
			w.killShell(r)
			return Output{}, drivers.Errorf(drivers.ClassHost, "winrm "+w.addr, "no answer before the deadline: %v", ctx.Err()), false
		}
		// A failed request may have broken the shell: start over next time.
		w.release(r, true)
		if !started && isQuotaFault(err) {
			return Output{}, classifyWinRM("winrm "+w.addr, err), true
		}
		return Output{}, classifyWinRM("winrm "+w.addr, err), false
	}
	w.release(r, false)
	return out, nil, false
}

// collect drains a started command and releases it on the host.
func collect(cmd *winrm.Command) (Output, error) {
	var so, se bytes.Buffer
	var wg sync.WaitGroup
	var soErr, seErr error
	wg.Add(2)
	// Both pipes must be drained: the library's reader blocks on them. A
	// failed Receive closes them with its error; without it the command
	// would look like a success with exit 0.
	go func() { defer wg.Done(); _, soErr = io.Copy(&so, cmd.Stdout) }()
	go func() { defer wg.Done(); _, seErr = io.Copy(&se, cmd.Stderr) }()
	cmd.Wait()
	wg.Wait()
	if err := errors.Join(soErr, seErr); err != nil {
		return Output{}, fmt.Errorf("receiving the command's output: %w", err)
	}
	out := Output{Stdout: so.Bytes(), Stderr: se.Bytes(), Exit: cmd.ExitCode()}
	// Release the finished command (Signal terminate): the host keeps it,
	// and counts it against the shell's command quota, until then.
	if err := cmd.Close(); err != nil {
		return out, fmt.Errorf("releasing the finished command: %w", err)
	}
	return out, nil
}

// Close deletes the shell.
func (w *winrmExecutor) Close() error {
	w.mu.Lock()
	r := w.cur
	w.cur = nil
	if r != nil {
		r.retired = true
		r.closed = true
	}
	w.mu.Unlock()
	return closeShell(r)
}
