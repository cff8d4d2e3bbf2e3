package main

import (
	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/drivers/existing"
	"github.com/virtcert/virtcert/drivers/hyperv"
	"github.com/virtcert/virtcert/drivers/libvirt"
)

// openers is the explicit driver table: every driver the binary knows,
// wired in one place (see restic's backend/all).
var openers = map[string]drivers.Opener{
	"libvirt":  libvirt.Open,
	"existing": existing.Open,
	"hyperv":   hyperv.Open,
}
