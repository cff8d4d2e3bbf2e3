package guests

import "testing"

// TestKnownHostsLine: the host is written as OpenSSH looks it up, bare on
// port 22 and [host]:port elsewhere (IPv6 too).
func TestKnownHostsLine(t *testing.T) {
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE"
	for _, c := range []struct{ host, port, want string }{
		{"192.168.150.10", "22", "192.168.150.10 " + key},
		{"127.0.0.1", "2222", "[127.0.0.1]:2222 " + key},
		{"fd00::10", "22", "fd00::10 " + key},
		{"fd00::10", "2222", "[fd00::10]:2222 " + key},
	} {
		if got := KnownHostsLine(c.host, c.port, key); got != c.want {
			t.Errorf("KnownHostsLine(%q, %q) = %q, want %q", c.host, c.port, got, c.want)
		}
	}
}
