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
// WinRS has no file transfer, and powershell -EncodedCommand breaks above
// about 2.5 KB of script, so files travel as base64 chunks passed as a
// parameter to put.ps1 (appended to a staging file), which then decodes
// them with [Convert]::FromBase64String and checks their SHA-256 on the
// host. Neither cmd.exe's echo nor certutil -decode is used: endpoint
// security flags and blocks that pattern. put.ps1 itself is written by
// the command that creates the per-connection script directory.

// chunkSize keeps every put.ps1 command line below cmd.exe's 8191
// characters with room for two host paths.
const chunkSize = 6000

// putScript is put.ps1: fixed text, written into the script directory by
// MkdirCommand. Without -Sha256 it appends -Chunk to -Stage; with it, it
// decodes -Stage into -Path, deletes -Stage, and prints the file's SHA-256
// (and on a mismatch deletes -Path and fails with the id
// VcSha256Mismatch). Its trap is the scripts' prelude's in small (the
// prelude does not fit the -EncodedCommand that writes this file): a
// terminating error is one JSON line {"category","id","message"} on
// stderr, non-ASCII escaped, and exit 1.
const putScript = `param(
    [string]$Path,
    [Parameter(Mandatory = $true)][string]$Stage,
    [string]$Chunk,
    [string]$Sha256
)
$ErrorActionPreference = 'Stop'
trap {
    $l = ConvertTo-Json -Compress -InputObject ([ordered]@{ category = [string]$_.CategoryInfo.Category; id = [string]$_.FullyQualifiedErrorId; message = [string]$_.Exception.Message })
    [Console]::Error.WriteLine([regex]::Replace($l, '[^\x00-\x7F]', { param($m) '\u{0:x4}' -f [int][char]$m.Value }))
    exit 1
}
if (-not $Sha256) { [IO.File]::AppendAllText($Stage, $Chunk); exit 0 }
$t = ''
if (Test-Path -LiteralPath $Stage) { $t = [IO.File]::ReadAllText($Stage); Remove-Item -LiteralPath $Stage -Force }
[IO.File]::WriteAllBytes($Path, [Convert]::FromBase64String($t))
$h = (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash.ToLowerInvariant()
if ($h -ne $Sha256) { Remove-Item -LiteralPath $Path -Force; Write-Error -Message "sha256 $h, want $Sha256" -Category InvalidData -ErrorId 'VcSha256Mismatch' }
[Console]::Out.Write($h)
`

// PutScript is put.ps1's text (the simulated host checks it).
func PutScript() string { return putScript }

// mkdirScript creates the per-connection script directory
// (%TEMP%\virtcert-<32 hex>) with put.ps1 in it. It is fixed text, so it
// is safe to pass as -EncodedCommand (no value is spliced).
var mkdirScript = "$ErrorActionPreference='Stop';" +
	"$d=Join-Path ([IO.Path]::GetTempPath()) ('virtcert-'+[guid]::NewGuid().ToString('N'));" +
	"New-Item -ItemType Directory -Path $d | Out-Null;" +
	"[IO.File]::WriteAllText((Join-Path $d 'put.ps1'),'" + strings.ReplaceAll(putScript, "'", "''") + "');" +
	"[Console]::Out.Write($d)"

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
