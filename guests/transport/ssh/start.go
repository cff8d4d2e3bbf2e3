package ssh

import (
	"context"
	"errors"
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
		return c.startSession(ctx, cmd, func(s *ssh.Session) error {
			var err error
			if in, err = s.StdinPipe(); err == nil {
				out, err = s.StdoutPipe()
			}
			return err
		})
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
