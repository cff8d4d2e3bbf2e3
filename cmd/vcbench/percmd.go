package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/virtcert/virtcert/guests/transport"
	vssh "github.com/virtcert/virtcert/guests/transport/ssh"
)

// benchPerCommand (a) runs n × `true` on the guest four ways, interleaved
// over rounds, and reports each way's cost per command.
func benchPerCommand(ctx context.Context, g *guest, n, rounds int) (*table, error) {
	ways := []struct {
		name string
		run  func(context.Context, *guest, int) (perCmd, setup time.Duration, err error)
	}{
		{"virtcert SSH transport (one connection)", transportWay},
		{"ssh per command", sshWay},
		{"OpenSSH ControlMaster", controlMasterWay},
		{"Ansible raw (ansible-playbook)", ansibleWay},
	}
	per := make([][]time.Duration, len(ways))
	setup := make([][]time.Duration, len(ways))
	for r := 0; r < rounds; r++ {
		for i, w := range ways {
			p, s, err := w.run(ctx, g, n)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", w.name, err)
			}
			per[i], setup[i] = append(per[i], p), append(setup[i], s)
		}
	}
	t := &table{title: fmt.Sprintf("a. per-command cost: %d × `true` on the tiny guest, %d interleaved rounds", n, rounds),
		head: []string{"way", "per command (median, min–max)", "setup (median)", "ratio to virtcert"}}
	base := median(per[0])
	for i, w := range ways {
		su := "-" // ssh per command has no setup apart from its commands
		if m := median(setup[i]); m > 0 {
			su = ms(m)
		}
		t.rows = append(t.rows, []string{w.name, spread(per[i]), su, ratio(median(per[i]), base)})
	}
	t.notes = append(t.notes,
		"setup: the transport's dial; ControlMaster's master start; Ansible's run of one raw task (fork, facts off, connection)",
		"Ansible's per command: (time of n+1 raw tasks − time of 1 raw task) / n, after an untimed warm-up run; each run starts its own master connection (ControlPersist as Ansible sets it, a fresh ControlPath each)")
	return t, nil
}

// transportWay: the project's SSH transport, one connection, a session
// per command, as a check does.
func transportWay(ctx context.Context, g *guest, n int) (time.Duration, time.Duration, error) {
	t0 := time.Now()
	c, err := vssh.Dial(ctx, g.sshConfig())
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	dial := time.Since(t0)
	t1 := time.Now()
	for i := 0; i < n; i++ {
		if r, err := c.Run(ctx, transport.Command{Cmd: "true"}); err != nil || r.Exit != 0 {
			return 0, 0, fmt.Errorf("true: exit %d: %v", r.Exit, err)
		}
	}
	return time.Since(t1) / time.Duration(n), dial, nil
}

// sshWay: one OpenSSH process (and connection) per command.
func sshWay(ctx context.Context, g *guest, n int) (time.Duration, time.Duration, error) {
	t0 := time.Now()
	for i := 0; i < n; i++ {
		if err := execQuiet(ctx, "ssh", append(g.sshArgs(), "root@"+g.addr, "true")...); err != nil {
			return 0, 0, err
		}
	}
	return time.Since(t0) / time.Duration(n), 0, nil
}

// controlMasterWay: one master connection, then one ssh client per
// command multiplexed over it.
func controlMasterWay(ctx context.Context, g *guest, n int) (time.Duration, time.Duration, error) {
	sock := filepath.Join(g.dir, "cm.sock")
	args := append(g.sshArgs(), "-o", "ControlPath="+sock)
	t0 := time.Now()
	if err := execQuiet(ctx, "ssh", append(args, "-o", "ControlMaster=yes", "-o", "ControlPersist=60", "-f", "-N", "root@"+g.addr)...); err != nil {
		return 0, 0, fmt.Errorf("master: %w", err)
	}
	defer execQuiet(context.Background(), "ssh", append(args, "-O", "exit", "root@"+g.addr)...)
	setup := time.Since(t0)
	t1 := time.Now()
	for i := 0; i < n; i++ {
		if err := execQuiet(ctx, "ssh", append(args, "-o", "ControlMaster=no", "root@"+g.addr, "true")...); err != nil {
			return 0, 0, err
		}
	}
	return time.Since(t1) / time.Duration(n), setup, nil
}

// ansibleWay: Debian's ansible-playbook with raw tasks over its ssh
// connection plugin (ControlPersist on, the default). The per-command
// figure subtracts a 1-task run from an (n+1)-task run, so both must pay
// the same fixed costs: an untimed run first warms Python's imports, and
// each run gets a fresh ControlPath directory, so each starts its own
// master connection (a master left by the previous run would make the
// later run cheaper by a connection, and the difference come out too
// small, even negative).
func ansibleWay(ctx context.Context, g *guest, n int) (time.Duration, time.Duration, error) {
	if _, err := ansibleRun(ctx, g, 1); err != nil {
		return 0, 0, err
	}
	one, err := ansibleRun(ctx, g, 1)
	if err != nil {
		return 0, 0, err
	}
	many, err := ansibleRun(ctx, g, n+1)
	if err != nil {
		return 0, 0, err
	}
	return (many - one) / time.Duration(n), one, nil
}

func ansibleRun(ctx context.Context, g *guest, tasks int) (time.Duration, error) {
	inv := filepath.Join(g.dir, "inventory")
	ssh := strings.Join(g.sshArgs()[2:], " ") // without -F: ansible adds its own options
	if err := os.WriteFile(inv, []byte(fmt.Sprintf("guest ansible_host=%s ansible_user=root ansible_ssh_private_key_file=%s ansible_ssh_extra_args='%s'\n",
		g.addr, g.keyFile, ssh)), 0o600); err != nil {
		return 0, err
	}
	var b strings.Builder
	b.WriteString("- hosts: guest\n  gather_facts: false\n  tasks:\n")
	for i := 0; i < tasks; i++ {
		b.WriteString("    - raw: \"true\"\n")
	}
	pb := filepath.Join(g.dir, "playbook.yml")
	if err := os.WriteFile(pb, []byte(b.String()), 0o600); err != nil {
		return 0, err
	}
	cp, err := os.MkdirTemp(g.dir, "ansible-cp-")
	if err != nil {
		return 0, err
	}
	defer stopMasters(g, cp)
	cmd := exec.CommandContext(ctx, "ansible-playbook", "-i", inv, pb)
	cmd.Env = append(os.Environ(), "ANSIBLE_HOST_KEY_CHECKING=True", "ANSIBLE_NOCOLOR=1",
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(g.dir, "ansible-local"), "ANSIBLE_SSH_CONTROL_PATH_DIR="+cp,
	)
	cmd.Dir = g.dir // no ansible.cfg of the current directory
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("ansible-playbook: %v: %s", err, tail(string(out), 800))
	}
	return time.Since(t0), nil
}

// stopMasters ends the persisted master connections Ansible left in dir
// (untimed), so none outlives its run.
func stopMasters(g *guest, dir string) {
	socks, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, s := range socks {
		_ = execQuiet(context.Background(), "ssh", "-o", "ControlPath="+s, "-O", "exit", "root@"+g.addr)
	}
}

// execQuiet runs a command and returns its error with its output.
func execQuiet(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", name, err, tail(string(out), 400))
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
