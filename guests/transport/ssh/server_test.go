//go:build linux

package ssh

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// testServer is an in-process SSH server for fault injection. Commands
// run as `sh -c` on the test machine; the faults are switched by fields.
type testServer struct {
	t        *testing.T
	ln       net.Listener
	hostKey  ssh.Signer
	authKey  ssh.PublicKey // the only accepted client key
	password string        // accepted password, if set

	slowHandshake time.Duration // sleep after accept, before the handshake
	sftp          bool          // offer the sftp subsystem
	// missingSFTP plays dropbear without an sftp-server: the subsystem
	// request is granted, the shell says "not found", closes its output
	// and exits 127 a moment later. Like dropbear, an exec that arrives
	// on a new session while that exit is pending gets its channel
	// closed without a reply (counted in racedExecs).
	missingSFTP bool
	dropOn      string      // a command containing this drops the TCP conn
	silent      atomic.Bool // stop answering global requests (keepalives)
	// holdOpens plays a frozen guest: channel open requests wait, with
	// no answer, until it is cleared.
	holdOpens atomic.Bool

	signals    atomic.Int32 // signal requests received
	execs      atomic.Int32 // exec requests received
	sftpReqs   atomic.Int32
	closing    atomic.Int32 // missing-sftp sessions whose exit is pending
	racedExecs atomic.Int32
	// closeExecs: this many next exec requests get their channel closed
	// without a reply, on a live connection (dropbear's answer in the
	// race above).
	closeExecs atomic.Int32
	conns      atomic.Int32
	authFails  atomic.Int32

	mu      sync.Mutex
	netConn []net.Conn
	wg      sync.WaitGroup
}

func newSigner(t testing.TB) ssh.Signer {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func startServer(t *testing.T, client ssh.Signer, mod func(*testServer)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{t: t, ln: ln, hostKey: newSigner(t), authKey: client.PublicKey()}
	if mod != nil {
		mod(s)
	}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *testServer) addr() string { return s.ln.Addr().String() }

func (s *testServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.netConn {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *testServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.conns.Add(1)
		s.mu.Lock()
		s.netConn = append(s.netConn, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
		}()
	}
}

func (s *testServer) handle(c net.Conn) {
	defer c.Close()
	if s.slowHandshake > 0 {
		time.Sleep(s.slowHandshake)
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if string(k.Marshal()) == string(s.authKey.Marshal()) {
				return nil, nil
			}
			s.authFails.Add(1)
			return nil, errors.New("key not authorized")
		},
	}
	if s.password != "" {
		cfg.PasswordCallback = func(_ ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if string(pw) == s.password {
				return nil, nil
			}
			return nil, errors.New("bad password")
		}
	}
	cfg.AddHostKey(s.hostKey)
	sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go func() {
		for r := range reqs {
			if s.silent.Load() {
				continue // never reply: the client must detect a dead peer
			}
			if r.WantReply {
				r.Reply(false, nil) // like OpenSSH for keepalive@openssh.com
			}
		}
	}()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "no")
			continue
		}
		for s.holdOpens.Load() {
			time.Sleep(10 * time.Millisecond)
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go s.session(c, ch, creqs)
	}
}

func (s *testServer) session(raw net.Conn, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	var cmd *exec.Cmd
	exited := make(chan struct{})
	for r := range reqs {
		switch r.Type {
		case "exec":
			s.execs.Add(1)
			if cmd != nil {
				r.Reply(false, nil)
				continue
			}
			var payload struct{ Cmd string }
			if err := ssh.Unmarshal(r.Payload, &payload); err != nil {
				r.Reply(false, nil)
				continue
			}
			if s.closeExecs.Add(-1) >= 0 || s.closing.Load() > 0 {
				s.racedExecs.Add(1)
				ch.CloseWrite()
				return // closes the channel, no reply: the client sees EOF
			}
			if s.dropOn != "" && strings.Contains(payload.Cmd, s.dropOn) {
				r.Reply(true, nil)
				time.Sleep(100 * time.Millisecond)
				raw.Close() // connection drop mid-command
				return
			}
			cmd = exec.Command("sh", "-c", payload.Cmd)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
			stdin, _ := cmd.StdinPipe()
			if err := cmd.Start(); err != nil {
				r.Reply(false, nil)
				return
			}
			r.Reply(true, nil)
			go func() { io.Copy(stdin, ch); stdin.Close() }()
			go func() {
				err := cmd.Wait()
				code := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
					if code < 0 {
						code = 128 + 9
					}
				}
				b := make([]byte, 4)
				binary.BigEndian.PutUint32(b, uint32(code))
				ch.SendRequest("exit-status", false, b)
				ch.Close()
				close(exited)
			}()
		case "subsystem":
			var payload struct{ Name string }
			ssh.Unmarshal(r.Payload, &payload)
			if payload.Name == "sftp" && s.missingSFTP {
				s.sftpReqs.Add(1)
				s.closing.Add(1)
				r.Reply(true, nil)
				io.WriteString(ch.Stderr(), "sh: 1: /usr/lib/sftp-server: not found\n")
				ch.CloseWrite()
				go func() {
					time.Sleep(150 * time.Millisecond)
					ch.SendRequest("exit-status", false, []byte{0, 0, 0, 127})
					s.closing.Add(-1)
					ch.Close()
				}()
				continue
			}
			if payload.Name != "sftp" || !s.sftp {
				r.Reply(false, nil)
				continue
			}
			s.sftpReqs.Add(1)
			r.Reply(true, nil)
			go func() {
				srv, err := sftp.NewServer(ch)
				if err == nil {
					srv.Serve()
				}
				ch.Close()
			}()
		case "signal":
			s.signals.Add(1)
			if cmd != nil && cmd.Process != nil {
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
			if r.WantReply {
				r.Reply(true, nil)
			}
		default:
			if r.WantReply {
				r.Reply(r.Type == "env", nil)
			}
		}
	}
	// Channel closed by the client: a well-behaved server reaps the
	// process; we do NOT kill it here, so tests prove the signal works.
	if cmd != nil {
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
		}
	}
}
