package hyperv

import "github.com/virtcert/virtcert/guests/transport"

func quote(s string) string { return transport.Quote(s) }

func transportCmd(s string) transport.Command { return transport.Command{Cmd: s} }
