package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// kept is a guest --keep-on-failure left running: the ssh command the
// run printed on its "kept NAME (TARGET): ssh -F FILE NAME" line, and
// what FILE, the guest's ssh_config, says.
type kept struct {
	cmd                               []string // ssh -F FILE NAME
	host, port, user, key, knownHosts string
}

// keptGuest reads the kept guest printed last on stdout and its
// ssh_config. It fails the test when no ssh command was printed, or the
// ssh_config lacks HostName, User, IdentityFile or UserKnownHostsFile.
func keptGuest(t *testing.T, stdout string) kept {
	t.Helper()
	var k kept
	for _, l := range strings.Split(stdout, "\n") {
		if _, cmd, ok := strings.Cut(l, ": "); ok && strings.HasPrefix(l, "kept ") {
			if f := strings.Fields(cmd); len(f) == 4 && f[0] == "ssh" && f[1] == "-F" {
				k.cmd = f
			}
		}
	}
	if k.cmd == nil {
		t.Fatalf("no kept guest's ssh command printed:\n%s", stdout)
	}
	b, err := os.ReadFile(k.cmd[2])
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			continue
		}
		switch f[0] {
		case "HostName":
			k.host = f[1]
		case "Port":
			k.port = f[1]
		case "User":
			k.user = f[1]
		case "IdentityFile":
			k.key = f[1]
		case "UserKnownHostsFile":
			k.knownHosts = f[1]
		}
	}
	if k.host == "" || k.user == "" || k.key == "" || k.knownHosts == "" {
		t.Fatalf("%s lacks HostName, User, IdentityFile or UserKnownHostsFile:\n%s", k.cmd[2], b)
	}
	return k
}

// ssh runs remote on the kept guest through the printed ssh command
// (batch mode: a prompt would be a failure).
func (k kept) ssh(remote string) ([]byte, error) {
	args := append([]string{"-o", "BatchMode=yes", "-o", "ConnectTimeout=20"}, k.cmd[1:]...)
	return exec.Command(k.cmd[0], append(args, remote)...).CombinedOutput()
}
