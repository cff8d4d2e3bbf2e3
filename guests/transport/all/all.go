// Package all registers every guest transport built into virtcert
// (import it for its side effect).
package all

import (
	_ "github.com/virtcert/virtcert/guests/transport/ssh"
	_ "github.com/virtcert/virtcert/guests/transport/winrm"
)
