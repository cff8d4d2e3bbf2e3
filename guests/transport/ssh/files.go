package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/virtcert/virtcert/guests/transport"
)

// sftpState remembers whether the server has an sftp subsystem, so a
// server without one (dropbear in the tiny guest) is asked only once.
type sftpState int

const (
	sftpUnknown sftpState = iota
	sftpYes
	sftpNo
)

// withSFTP runs f with an SFTP client when the server offers the
// subsystem. It returns (false, nil) when it does not, so the caller falls
// back to streaming through the shell. pkg/sftp has no context support:
// closing the client when ctx ends unblocks it.
//
// The session is opened here rather than by sftp.NewClient so that a
// failed attempt can be waited for. dropbear without an sftp-server
// grants the subsystem, runs the missing program and closes the session
// once the shell exits 127; pkg/sftp gives up at the first EOF, before
// that. A session opened in the window is closed by dropbear as soon as
// it asks to exec, unanswered (seen on emulated guests in one upload in
// two). So the fallback starts only after the refused session is gone.
func (c *Client) withSFTP(ctx context.Context, f func(*sftp.Client) error) (bool, error) {
	c.mu.Lock()
	st := c.sftp
	c.mu.Unlock()
	if st == sftpNo {
		return false, nil
	}
	if err := c.Err(); err != nil {
		return true, err
	}
	type res struct {
		s   *sftpChannel
		cl  *sftp.Client
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, cl, err := c.openSFTP()
		ch <- res{s, cl, err}
	}()
	var r res
	select {
	case r = <-ch:
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.s != nil {
				if r.cl != nil {
					r.cl.Close()
				}
				r.s.ch.Close()
			}
		}()
		return true, ctx.Err()
	}
	if r.err != nil {
		if r.s != nil {
			// Granted but not an sftp server: let the session end.
			r.s.end(sessionEndWait)
		}
		if c.Err() != nil {
			return true, c.brokenErr(r.err)
		}
		// The subsystem request was refused (or the server is not an
		// sftp server): remember and fall back.
		c.mu.Lock()
		c.sftp = sftpNo
		c.mu.Unlock()
		return false, nil
	}
	c.mu.Lock()
	c.sftp = sftpYes
	c.mu.Unlock()
	defer r.s.end(sessionEndWait)
	defer r.cl.Close()
	stop := context.AfterFunc(ctx, func() { r.cl.Close() })
	defer stop()
	err := f(r.cl)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return true, err
}

// sftpChannel is the raw session channel an SFTP client runs on. It is
// opened with OpenChannel rather than ssh.Session, whose Wait refuses a
// session started by a subsystem request; done closes when the server
// has closed the channel.
type sftpChannel struct {
	ch   ssh.Channel
	done chan struct{}
}

// writeCloser makes Close on the client's write side a half-close (EOF),
// which an sftp server answers by exiting, as with OpenSSH's own client.
type writeCloser struct{ ssh.Channel }

func (w writeCloser) Close() error { return w.CloseWrite() }

// openSFTP opens a session channel, asks for the sftp subsystem and
// starts a client on it. A non-nil channel comes back whenever one was
// opened, so the caller can wait for it to end.
func (c *Client) openSFTP() (*sftpChannel, *sftp.Client, error) {
	ch, reqs, err := c.conn.OpenChannel("session", nil)
	if err != nil {
		return nil, nil, err
	}
	sc := &sftpChannel{ch: ch, done: make(chan struct{})}
	go func() {
		ssh.DiscardRequests(reqs) // exit-status; returns when the channel closes
		close(sc.done)
	}()
	ok, err := ch.SendRequest("subsystem", true, ssh.Marshal(struct{ Name string }{"sftp"}))
	if err == nil && !ok {
		// Refused: nothing runs behind the channel, close it now.
		ch.Close()
		return nil, nil, errors.New("sftp subsystem refused")
	}
	if err != nil {
		return sc, nil, err
	}
	go io.Copy(io.Discard, ch.Stderr()) // "sftp-server: not found" and the like
	cl, err := sftp.NewClientPipe(ch, writeCloser{ch})
	return sc, cl, err
}

// sessionEndWait bounds how long a finished session may take to be
// closed by the server before we close it ourselves.
const sessionEndWait = 5 * time.Second

// end half-closes the channel (an sftp server exits on EOF), waits up to
// max for the server to close it, then closes it from our side.
func (sc *sftpChannel) end(max time.Duration) {
	_ = sc.ch.CloseWrite()
	select {
	case <-sc.done:
	case <-time.After(max):
	}
	sc.ch.Close()
}

// SFTP reports whether the server offered the sftp subsystem (after the
// first Upload or Download).
func (c *Client) SFTP() (known, available bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sftp != sftpUnknown, c.sftp == sftpYes
}

// Upload writes r to path with mode.
func (c *Client) Upload(ctx context.Context, path string, r io.Reader, mode uint32) error {
	used, err := c.withSFTP(ctx, func(cl *sftp.Client) error {
		f, err := cl.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
		if err != nil {
			return err
		}
		if _, err := f.ReadFrom(r); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return cl.Chmod(path, os.FileMode(mode&0o7777))
	})
	if used {
		if err != nil {
			return fmt.Errorf("upload %s (sftp): %w", path, err)
		}
		return nil
	}
	// No sftp-server: stream through the shell. The path is quoted,
	// never spliced raw into the command line.
	q := transport.Quote(path)
	cmd := fmt.Sprintf("cat > %s && chmod %o %s", q, mode&0o7777, q)
	var stderr bytes.Buffer
	var exit int
	var dur time.Duration
	if err := c.runStreams(ctx, transport.Command{Cmd: cmd, Stdin: r}, io.Discard, &stderr, &exit, &dur); err != nil {
		return fmt.Errorf("upload %s (cat): %w", path, err)
	}
	if exit != 0 {
		return fmt.Errorf("upload %s (cat): exit %d: %s", path, exit, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// Download streams the guest file at path into w.
func (c *Client) Download(ctx context.Context, path string, w io.Writer) error {
	used, err := c.withSFTP(ctx, func(cl *sftp.Client) error {
		f, err := cl.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteTo(w)
		return err
	})
	if used {
		if err != nil {
			return fmt.Errorf("download %s (sftp): %w", path, err)
		}
		return nil
	}
	var stderr bytes.Buffer
	var exit int
	var dur time.Duration
	if err := c.runStreams(ctx, transport.Command{Cmd: "cat " + transport.Quote(path)}, w, &stderr, &exit, &dur); err != nil {
		return fmt.Errorf("download %s (cat): %w", path, err)
	}
	if exit != 0 {
		return fmt.Errorf("download %s (cat): exit %d: %s", path, exit, strings.TrimSpace(stderr.String()))
	}
	return nil
}
