package winrm

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/masterzen/winrm"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
)

// PowerShell is the program every command runs in; the script follows
// as -EncodedCommand (base64 of UTF-16LE), so no quoting of the script
// itself is ever needed.
const PowerShell = "powershell.exe"

// PowerShellArgs precede the encoded script.
var PowerShellArgs = []string{"-NoLogo", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand"}

// scriptPrelude silences progress records, which would otherwise arrive
// as CLIXML noise on stderr.
const scriptPrelude = "$ProgressPreference='SilentlyContinue';"

// MaxCommandLine is the longest command line WinRS runs: its cmd shell
// hands the command to cmd.exe, whose limit is 8191 characters; past it
// Windows answers "The command line is too long." (or truncates).
const MaxCommandLine = 8191

// CommandLine is the command line Run sends for script, as cmd.exe sees
// it (the transport's prelude included).
func CommandLine(script string) string {
	return PowerShell + " " + strings.Join(PowerShellArgs, " ") + " " + EncodeScript(scriptPrelude+script)
}

// EncodeScript is the -EncodedCommand argument for script.
func EncodeScript(script string) string {
	u := utf16.Encode([]rune(script))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		b[2*i], b[2*i+1] = byte(r), byte(r>>8)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// Run runs cmd.Cmd as a PowerShell script on the shared shell. A
// non-zero exit is Result.Exit; err is set only when the transport broke
// or ctx (or cmd.Timeout) ended, in which case the remote process is
// stopped with a terminate signal. Stderr comes back as plain text:
// PowerShell's CLIXML error stream is decoded.
func (c *Client) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	res := transport.Result{Cmd: cmd.Cmd}
	var stdout, stderr bytes.Buffer
	start := time.Now()
	exit, err := c.run(ctx, cmd, &stdout, &stderr)
	res.Duration = time.Since(start)
	res.Exit, res.Stdout, res.Stderr = exit, stdout.Bytes(), DecodeStderr(stderr.Bytes())
	return res, err
}

// run is Run with caller-provided writers (Download streams through it).
func (c *Client) run(ctx context.Context, cmd transport.Command, stdout, stderr io.Writer) (int, error) {
	script := scriptPrelude + cmd.Cmd
	if n := len(CommandLine(cmd.Cmd)); n > MaxCommandLine || c.cfg.MaxScript > 0 && len(script) > c.cfg.MaxScript {
		return -1, drivers.Errorf(drivers.ClassInput, "winrm run", "script of %d characters makes a %d-character command line; -EncodedCommand carries at most %d (and Config.MaxScript %d): upload it and run it with -File", len(script), n, MaxCommandLine, c.cfg.MaxScript)
	}
	if cmd.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cmd.Timeout)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	args := append(append([]string(nil), PowerShellArgs...), EncodeScript(script))
	sh, id, err := c.start(ctx, args)
	if err != nil {
		return -1, classify("winrm run", err)
	}
	defer c.release(ctx, sh)
	exit, err := c.drive(ctx, sh, id, cmd.Stdin, stdout, stderr)
	if err != nil {
		if ctx.Err() != nil {
			c.terminate(sh, id, true)
			return -1, fmt.Errorf("winrm run %q: %w", short(cmd.Cmd), ctx.Err())
		}
		c.terminate(sh, id, false)
		return -1, classify("winrm run", err)
	}
	// Release the finished command on the server (Windows keeps it, and
	// counts it against the shell's quota, until it is signalled).
	c.terminate(sh, id, false)
	return exit, nil
}

// start creates the command on a shell; on a quota fault (or a shell the
// server dropped) the shell is retired and the command retried once on a
// fresh one. Nothing ran when the server refused, so the retry is safe.
func (c *Client) start(ctx context.Context, args []string) (*shell, string, error) {
	for attempt := 1; ; attempt++ {
		sh, err := c.acquire(ctx)
		if err != nil {
			return nil, "", err
		}
		resp, err := c.p.post(ctx, winrm.NewExecuteCommandRequest(c.p.url, sh.id, PowerShell, args, c.params))
		if err == nil {
			var id string
			if id, err = winrm.ParseExecuteCommandResponse(resp); err == nil && id != "" {
				c.mu.Lock()
				c.stats.Commands++
				c.mu.Unlock()
				return sh, id, nil
			}
			err = &netError{op: "command", addr: c.cfg.Addr, err: errors.Join(errors.New("no CommandId in the response"), err)}
		}
		f, isFault := errors.AsType[*Fault](err)
		if isFault && (f.quota() || f.shellGone()) {
			c.retire(sh)
			c.release(ctx, sh)
			if attempt == 1 {
				c.mu.Lock()
				c.stats.QuotaRetries++
				c.mu.Unlock()
				continue
			}
		} else {
			c.release(ctx, sh)
		}
		return nil, "", err
	}
}

// drive feeds stdin and receives output until the command is done.
func (c *Client) drive(ctx context.Context, sh *shell, id string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	sendErr := make(chan error, 1)
	sctx, stopSend := context.WithCancel(ctx)
	defer stopSend()
	if stdin != nil {
		go func() { sendErr <- c.sendStdin(sctx, sh, id, stdin) }()
	} else {
		sendErr <- nil
	}
	for {
		resp, err := c.p.post(ctx, winrm.NewGetOutputRequest(c.p.url, sh.id, id, "stdout stderr", c.params))
		if f, ok := errors.AsType[*Fault](err); ok && f.timedOut() {
			continue
		}
		if err != nil {
			return -1, err
		}
		done, exit, err := parseReceive(resp, stdout, stderr)
		if err != nil {
			return -1, &netError{op: "receive", addr: c.cfg.Addr, err: err}
		}
		if done {
			stopSend()
			if e := <-sendErr; e != nil && !errors.Is(e, context.Canceled) {
				return -1, e
			}
			return exit, nil
		}
		select {
		case e := <-sendErr:
			if e != nil {
				return -1, e
			}
			sendErr <- nil // the feeder is done; keep receiving
		default:
		}
	}
}

// parseReceive parses a ReceiveResponse, turning a panic in the parser
// (on a garbled envelope) into an error.
func parseReceive(resp string, stdout, stderr io.Writer) (done bool, exit int, err error) {
	defer func() {
		if p := recover(); p != nil {
			done, exit, err = false, -1, fmt.Errorf("unparseable ReceiveResponse: %v", p)
		}
	}()
	done, exit, err = winrm.ParseSlurpOutputErrResponse(resp, stdout, stderr)
	return
}

// stdinChunk is how much stdin one Send carries: its base64 fits
// Windows' default MaxEnvelopeSizekb of 500 with room for the headers.
const stdinChunk = 320 << 10

// sendStdin streams r to the command, then ends its stdin.
func (c *Client) sendStdin(ctx context.Context, sh *shell, id string, r io.Reader) error {
	buf := make([]byte, stdinChunk)
	for {
		n, rerr := io.ReadFull(r, buf)
		eof := rerr == io.EOF || rerr == io.ErrUnexpectedEOF
		if rerr != nil && !eof {
			return fmt.Errorf("reading stdin: %w", rerr)
		}
		if n > 0 || eof {
			if _, err := c.p.post(ctx, winrm.NewSendInputRequest(c.p.url, sh.id, id, buf[:n], eof, c.params)); err != nil {
				return err
			}
		}
		if eof {
			return nil
		}
	}
}

// terminate signals the command to stop (a running one) or to be
// released (a finished one). It is bounded and best effort; cancelled
// says the caller's context ended (counted in Stats).
func (c *Client) terminate(sh *shell, id string, cancelled bool) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.ConnectTimeout)
	defer cancel()
	_, err := c.p.post(ctx, winrm.NewSignalRequest(c.p.url, sh.id, id, c.params))
	if cancelled && err == nil {
		c.mu.Lock()
		c.stats.Terminated++
		c.mu.Unlock()
	}
}
