package ssh

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pkg/sftp"

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
		cl  *sftp.Client
		err error
	}
	ch := make(chan res, 1)
	go func() {
		cl, err := sftp.NewClient(c.conn)
		ch <- res{cl, err}
	}()
	var r res
	select {
	case r = <-ch:
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.cl != nil {
				r.cl.Close()
			}
		}()
		return true, ctx.Err()
	}
	if r.err != nil {
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
	defer r.cl.Close()
	stop := context.AfterFunc(ctx, func() { r.cl.Close() })
	defer stop()
	err := f(r.cl)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return true, err
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
