package hyperv

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf16"
)

// Output is what one host command returned.
type Output struct {
	Stdout, Stderr []byte
	Exit           int
}

// Executor runs one command line on the Hyper-V host with cmd.exe
// semantics (as WinRS does). A non-zero exit is data in Output.Exit; err is
// set only when the transport broke or ctx ended. Implementations: the
// WinRM shell (remote), cmd.exe via os/exec (local, Windows), and the
// simulated host's in-process backend (tests).
type Executor interface {
	Exec(ctx context.Context, cmdline string) (Output, error)
	Close() error
}

// Uploads.
//
// powershell -EncodedCommand breaks above about 2.5 KB of script, and WinRS
// has no file transfer, so files travel as base64 appended to a .b64 file
// with cmd.exe's echo in chunks (base64 has no cmd.exe metacharacters),
// are decoded with certutil, and their SHA-256 is checked with hash.ps1.

// chunkSize keeps every echo line far below cmd.exe's 8191-character limit.
const chunkSize = 6000

// mkdirScript creates the per-connection script directory. It is fixed
// text, so it is safe to pass as -EncodedCommand (no value is spliced).
const mkdirScript = "$ErrorActionPreference='Stop';" +
	"$d=Join-Path ([IO.Path]::GetTempPath()) ('virtcert-'+[guid]::NewGuid().ToString('N'));" +
	"New-Item -ItemType Directory -Path $d | Out-Null;[Console]::Out.Write($d)"

// MkdirCommand is the command line that creates the script directory.
func MkdirCommand() string {
	return "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand " + EncodeCommand(mkdirScript)
}

// EncodeCommand encodes a script for -EncodedCommand (UTF-16LE, base64).
func EncodeCommand(s string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// DecodeCommand is the inverse of EncodeCommand.
func DecodeCommand(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b)%2 != 0 {
		return "", fmt.Errorf("bad -EncodedCommand")
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// safeHostPath reports whether a host path can be used inside our quoted
// command lines (see QuoteArg).
func safeHostPath(p string) error {
	if p == "" {
		return fmt.Errorf("empty path")
	}
	_, err := QuoteArg(p)
	return err
}

// EchoCommand appends one base64 chunk to file.
func EchoCommand(chunk, file string) (string, error) {
	q, err := QuoteArg(file)
	if err != nil {
		return "", err
	}
	// No space before >>: cmd.exe would write it into the file.
	return "echo " + chunk + ">>" + q, nil
}

// CertutilDecodeCommand decodes src (base64) into dst, overwriting it.
func CertutilDecodeCommand(src, dst string) (string, error) {
	qs, err := QuoteArg(src)
	if err != nil {
		return "", err
	}
	qd, err := QuoteArg(dst)
	if err != nil {
		return "", err
	}
	return "certutil -f -decode " + qs + " " + qd, nil
}

// DelCommand removes a file.
func DelCommand(file string) (string, error) {
	q, err := QuoteArg(file)
	if err != nil {
		return "", err
	}
	return "del /f /q " + q, nil
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// hostJoin joins Windows path elements.
func hostJoin(dir string, elem ...string) string {
	p := strings.TrimRight(dir, `\`)
	for _, e := range elem {
		p += `\` + e
	}
	return p
}
