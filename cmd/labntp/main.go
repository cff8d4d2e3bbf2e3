// Command labntp is the lab's NTP server (fixtures/ntp): the lab starts it
// inside its network namespace on the bridge address, so guests have a
// time source that is the controller's own clock. It never adjusts any
// clock.
//
//	labntp --listen 192.168.150.1:123 [--pidfile FILE]
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/virtcert/virtcert/fixtures/ntp"
)

func main() {
	listen := flag.String("listen", "", "UDP address to serve on, e.g. 192.168.150.1:123 (required)")
	pidfile := flag.String("pidfile", "", "write the pid here once listening")
	flag.Parse()
	if *listen == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: labntp --listen ADDR:PORT [--pidfile FILE]")
		os.Exit(2)
	}
	pc, err := net.ListenPacket("udp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "labntp:", err)
		os.Exit(3)
	}
	if *pidfile != "" {
		if err := os.WriteFile(*pidfile, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "labntp:", err)
			os.Exit(3)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := ntp.Serve(ctx, pc); err != nil {
		fmt.Fprintln(os.Stderr, "labntp:", err)
		os.Exit(3)
	}
}
