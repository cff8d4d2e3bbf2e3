package network

import "testing"

func TestSSHClientAddr(t *testing.T) {
	for in, want := range map[string]string{
		"192.168.150.1 45084 192.168.150.147 22\n": "192.168.150.1",
		"::ffff:10.0.0.1 5000 10.0.0.2 22":         "10.0.0.1",
		"fe80::1%eth0 5000 fe80::2%eth0 22":        "fe80::1",
		"2001:db8::1 5000 2001:db8::2 2222":        "2001:db8::1",
	} {
		if got, ok := SSHClientAddr(in); !ok || got != want {
			t.Errorf("SSHClientAddr(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "\n", "192.168.150.1", "0.0.0.0 1 2.2.2.2 22", "host 1 2 3", "1.2.3.4 1 5.6.7.8 22 extra"} {
		if got, ok := SSHClientAddr(in); ok {
			t.Errorf("SSHClientAddr(%q) = %q, want no address", in, got)
		}
	}
}
