package winrm

import (
	"context"
	"errors"
	"time"

	"github.com/masterzen/winrm"

	"github.com/virtcert/virtcert/guests/transport"
)

// shell is one WinRS shell shared by concurrent commands. A shell is
// retired after Config.RecycleAfter commands or at once on a quota
// fault; it is deleted when its last command is done.
type shell struct {
	id      string
	used    int // commands started on it
	active  int // commands running on it
	retired bool
}

// acquire returns the shell for one more command, creating a fresh one
// when there is none or the current one has run its share.
func (c *Client) acquire(ctx context.Context) (*shell, error) {
	c.create.Lock()
	defer c.create.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, transport.ErrClosed
	}
	if sh := c.cur; sh != nil && sh.used >= c.cfg.RecycleAfter {
		c.stats.Recycled++
		c.retireLocked(sh)
	}
	if sh := c.cur; sh != nil {
		sh.used++
		sh.active++
		c.mu.Unlock()
		return sh, nil
	}
	c.mu.Unlock()
	resp, err := c.p.post(ctx, winrm.NewOpenShellRequest(c.p.url, c.params))
	if err != nil {
		return nil, err
	}
	id, err := winrm.ParseOpenShellResponse(resp)
	if err != nil || id == "" {
		return nil, &netError{op: "create shell", addr: c.cfg.Addr, err: errors.Join(errors.New("no ShellId in the response"), err)}
	}
	sh := &shell{id: id, used: 1, active: 1}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Shells++
	if c.closed {
		sh.retired = true
		return sh, nil // deleted on release
	}
	c.cur = sh
	return sh, nil
}

// retireLocked takes sh out of use; it is deleted now if idle, else by
// the release of its last command. c.mu is held.
func (c *Client) retireLocked(sh *shell) {
	if c.cur == sh {
		c.cur = nil
	}
	if sh.retired {
		return
	}
	sh.retired = true
	if sh.active == 0 {
		go c.deleteShell(sh)
	}
}

// retire is retireLocked for callers not holding c.mu.
func (c *Client) retire(sh *shell) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.retireLocked(sh)
}

// release ends one command's use of sh.
func (c *Client) release(_ context.Context, sh *shell) {
	c.mu.Lock()
	sh.active--
	del := sh.retired && sh.active == 0
	c.mu.Unlock()
	if del {
		c.deleteShell(sh)
	}
}

// deleteShell deletes sh on the server, best effort and bounded: a shell
// left behind idles out on the guest.
func (c *Client) deleteShell(sh *shell) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.p.post(ctx, winrm.NewDeleteShellRequest(c.p.url, sh.id, c.params)); err == nil {
		c.mu.Lock()
		c.stats.ShellsDeleted++
		c.mu.Unlock()
	}
}
