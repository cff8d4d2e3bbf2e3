package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/ssh"

	"github.com/virtcert/virtcert/guests/transport"
)

// Start runs cmd with piped stdin/stdout and returns at once. It is for
// request/response protocols over one session (vcprobe clock: one line
// in, one sample out), where a session per sample would cost a process
// start each. ctx ending kills the remote command.
func (c *Client) Start(ctx context.Context, cmd string) (*transport.Process, error) {
	if err := c.Err(); err != nil {
		return nil, err
	}
	var in io.WriteCloser
	var out io.Reader
	s, err := opened(ctx, cmd, func() (*ssh.Session, error) {
		s, err := c.conn.NewSession()
		if err != nil {
			return nil, c.brokenErr(fmt.Errorf("new session: %w", err))
		}
		if err := ctx.Err(); err != nil {
			s.Close()
			return nil, err
		}
		if in, err = s.StdinPipe(); err == nil {
			out, err = s.StdoutPipe()
		}
		if err != nil {
			s.Close()
			return nil, err
		}
		if err := s.Start(cmd); err != nil {
			s.Close()
			return nil, c.brokenErr(fmt.Errorf("start: %w", err))
		}
		return s, nil
	})
	if err != nil {
		return nil, err
	}
	kill := func() {
		_ = s.Signal(ssh.SIGKILL)
		s.Close()
	}
	stop := context.AfterFunc(ctx, kill)
	wait := func() (int, error) {
		in.Close()
		err := s.Wait()
		stop()
		s.Close()
		var ee *ssh.ExitError
		if errors.As(err, &ee) {
			return ee.ExitStatus(), nil
		}
		if err != nil {
			return -1, err
		}
		return 0, nil
	}
	return transport.NewProcess(in, out, wait, kill), nil
}

var _ transport.Streamer = (*Client)(nil)
