package guests

import (
	"errors"
	"net"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// PinnedHostKey reads a guest's host public key from authorized_keys or
// known_hosts text and returns it as an authorized_keys line ("type
// base64"), the form transport.Access pins.
func PinnedHostKey(b []byte) (string, error) {
	k, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		_, _, k, _, _, err = ssh.ParseKnownHosts(b)
	}
	if err != nil {
		return "", errors.New("no SSH public key found (authorized_keys or known_hosts format)")
	}
	return AuthorizedLine(k), nil
}

// AuthorizedLine is k as an authorized_keys line without a comment.
func AuthorizedLine(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// KnownHostsLine is the known_hosts line pinning an authorized_keys host
// key to host and port ([host]:port unless the port is 22).
func KnownHostsLine(host, port, hostKey string) string {
	return knownhosts.Normalize(net.JoinHostPort(host, port)) + " " + hostKey
}
