package lifecycle

import "github.com/virtcert/virtcert/guests/transport"

func transportCmd(s string) transport.Command { return transport.Command{Cmd: s} }
