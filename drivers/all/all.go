// Package all registers every host driver built into virtcert: import it
// for its side effect. Adding a driver is its folder plus one line here.
package all

import (
	_ "github.com/virtcert/virtcert/drivers/existing"
	_ "github.com/virtcert/virtcert/drivers/hyperv"
	_ "github.com/virtcert/virtcert/drivers/libvirt"
)
