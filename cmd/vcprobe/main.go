// Command vcprobe is the static measurement helper virtcert uploads into
// guests (Linux: /tmp/vcprobe; Windows: C:\Windows\Temp\vcprobe.exe, built
// by make vcprobe-windows; there disk and integrity use unbuffered I/O,
// FILE_FLAG_NO_BUFFERING|FILE_FLAG_WRITE_THROUGH in whole sectors, and
// print the same JSON: built and vetted, never run, as no Windows or
// wine that runs Go 1.26 binaries can be had here) so measurements
// do not depend on the image's tools. Each subcommand prints one JSON document on stdout (clock
// prints one JSON line per request). Exit status: 0 measured (the verdict
// is the controller's business), 1 the measurement could not be made
// (JSON still says why), 2 bad usage.
//
//	vcprobe clock                               one reply line per stdin line
//	vcprobe mono -duration 2s
//	vcprobe tcp-server -listen :5201 -duration 30s
//	vcprobe tcp-client -connect ADDR -duration 5s -streams 4 [-threads 1]
//	vcprobe disk -path F -size 64M -mode seqwrite -bs 1M -direct -duration 5s [-ramp 1s]
//	vcprobe integrity -path F -size 64M [-phase both|write|verify] [-seed N]
//
// Build: CGO_ENABLED=0 go build ./cmd/vcprobe (only stdlib and x/sys).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/virtcert/virtcert/guests/probe"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: vcprobe clock|mono|tcp-server|tcp-client|disk|integrity [flags]")
		return 2
	}
	fs := flag.NewFlagSet("vcprobe "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch args[0] {
	case "clock":
		return runClock(fs, args, stdin, stdout, stderr)
	case "mono":
		return runMono(fs, args, stdout, stderr)
	case "tcp-server":
		return runTCPServer(fs, args, stdout, stderr)
	case "tcp-client":
		return runTCPClient(fs, args, stdout, stderr)
	case "disk":
		return runDisk(fs, args, stdout, stderr)
	case "integrity":
		return runIntegrity(fs, args, stdout, stderr)
	}
	fmt.Fprintf(stderr, "vcprobe: unknown subcommand %q\n", args[0])
	return 2
}

// emit writes v as one JSON document on stdout, then err (if any) on
// stderr; the exit status is 1 if either fails.
func emit(stdout, stderr io.Writer, v any, err error) int {
	enc := json.NewEncoder(stdout)
	if e := enc.Encode(v); e != nil {
		fmt.Fprintln(stderr, "vcprobe:", e)
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "vcprobe:", err)
		return 1
	}
	return 0
}

// runClock: vcprobe clock serves the clock protocol on stdin/stdout.
func runClock(fs *flag.FlagSet, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if err := probe.ServeClock(stdin, stdout, probe.Now); err != nil {
		fmt.Fprintln(stderr, "vcprobe clock:", err)
		return 1
	}
	return 0
}

// runMono: vcprobe mono scans the monotonic clock.
func runMono(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) int {
	d := fs.Duration("duration", 2*time.Second, "how long to scan")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	return emit(stdout, stderr, probe.MonoCheck(*d), nil)
}

// runTCPServer: vcprobe tcp-server receives TCP streams.
func runTCPServer(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) int {
	listen := fs.String("listen", ":5201", "address to listen on")
	d := fs.Duration("duration", 60*time.Second, "give up after this long")
	threads := fs.Int("threads", 1, "OS threads the streams share (GOMAXPROCS); 1 like iperf3 -s")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *threads < 1 {
		fmt.Fprintln(stderr, "tcp-server: -threads must be >= 1")
		return 2
	}
	runtime.GOMAXPROCS(*threads)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return emit(stdout, stderr, probe.TCPResult{Role: "server", Error: err.Error()}, err)
	}
	// Tell the controller we listen before it connects: one line on
	// stderr, so stdout stays a single JSON document.
	fmt.Fprintln(stderr, "listening", ln.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), *d)
	defer cancel()
	res, err := probe.TCPServe(ctx, ln)
	return emit(stdout, stderr, res, err)
}

// runTCPClient: vcprobe tcp-client sends TCP streams.
func runTCPClient(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) int {
	addr := fs.String("connect", "", "receiver address host:port")
	d := fs.Duration("duration", 5*time.Second, "send for this long")
	streams := fs.Int("streams", 1, "parallel TCP streams (1..255)")
	threads := fs.Int("threads", 1, "OS threads the streams share (GOMAXPROCS); 1 like iperf3 before 3.16, whose streams all run in one thread")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *threads < 1 {
		fmt.Fprintln(stderr, "tcp-client: -threads must be >= 1")
		return 2
	}
	runtime.GOMAXPROCS(*threads)
	if *addr == "" {
		fmt.Fprintln(stderr, "tcp-client: -connect is required")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *d+60*time.Second)
	defer cancel()
	res, err := probe.TCPSend(ctx, *addr, *d, *streams)
	return emit(stdout, stderr, res, err)
}

// runDisk: vcprobe disk measures disk throughput.
func runDisk(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) int {
	var o probe.DiskOptions
	var size, bs string
	fs.StringVar(&o.Path, "path", "", "file or block device")
	fs.StringVar(&size, "size", "64M", "bytes to use (K, M, G suffixes)")
	fs.StringVar(&o.Mode, "mode", "seqread", "seqwrite, seqread, randread, randwrite")
	fs.StringVar(&bs, "bs", "1M", "block size")
	fs.BoolVar(&o.Direct, "direct", true, "unbuffered I/O: O_DIRECT (Linux), FILE_FLAG_NO_BUFFERING|FILE_FLAG_WRITE_THROUGH (Windows)")
	fs.DurationVar(&o.Duration, "duration", 5*time.Second, "measure for this long")
	fs.DurationVar(&o.Ramp, "ramp", 0, "uncounted warm-up before the measured window (fio --ramp_time)")
	fs.BoolVar(&o.GoSyscall, "gosyscall", false, "I/O through os.File instead of raw pread/pwrite (for comparison)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	var err error
	if o.Size, err = parseSize(size); err != nil {
		fmt.Fprintln(stderr, "disk: -size:", err)
		return 2
	}
	b, err := parseSize(bs)
	if err != nil || o.Path == "" {
		fmt.Fprintln(stderr, "disk: -bs and -path are required and valid")
		return 2
	}
	o.BS = int(b)
	res, err := probe.DiskBench(o)
	return emit(stdout, stderr, res, err)
}

// runIntegrity: vcprobe integrity writes and verifies a pattern.
func runIntegrity(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) int {
	path := fs.String("path", "", "file or block device (overwritten)")
	size := fs.String("size", "64M", "bytes to write and verify")
	phase := fs.String("phase", "both", "both, write or verify")
	seed := fs.Uint64("seed", 0, "pattern seed (0: from the clock)")
	direct := fs.Bool("direct", true, "unbuffered I/O: O_DIRECT (Linux), FILE_FLAG_NO_BUFFERING|FILE_FLAG_WRITE_THROUGH (Windows)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	n, err := parseSize(*size)
	if err != nil || *path == "" || (*phase != "both" && *phase != "write" && *phase != "verify") {
		fmt.Fprintln(stderr, "integrity: -path, -size and -phase both|write|verify are required")
		return 2
	}
	if *seed == 0 {
		if *phase == "verify" {
			fmt.Fprintln(stderr, "integrity: -phase verify needs the -seed used to write")
			return 2
		}
		*seed = uint64(time.Now().UnixNano())
	}
	return emit(stdout, stderr, probe.Integrity(*path, n, *seed, *phase, *direct), nil)
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	s = strings.TrimSpace(s)
	if s != "" {
		switch strings.ToUpper(s[len(s)-1:]) {
		case "K":
			mult = 1 << 10
		case "M":
			mult = 1 << 20
		case "G":
			mult = 1 << 30
		}
		if mult > 1 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}
