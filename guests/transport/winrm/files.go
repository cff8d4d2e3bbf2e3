package winrm

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/virtcert/virtcert/guests/transport"
)

// Files move through PowerShell: an upload sends the file in chunks of
// UploadChunk bytes, each chunk one command whose stdin carries the
// chunk in base64 and which appends it to a temporary file next to the
// destination; a last command compares the temporary file's SHA-256 with
// the one computed here and moves it into place. A download streams the
// file as base64 lines followed by its SHA-256, checked here.
//
// Values reach the scripts as PowerShell string literals assigned before
// the constant script text (Param), never spliced into it.

// UploadChunk is how much of a file one upload command carries.
const UploadChunk = 4 << 20

// The scripts, after their parameter assignments.
const (
	// ScriptAppend: $t temp file, $m 'Create' (first chunk) or 'Append'.
	ScriptAppend = `$i=[Console]::In.ReadToEnd();$b=[Convert]::FromBase64String($i);$f=[IO.File]::Open($t,$m,'Write');try{$f.Write($b,0,$b.Length)}finally{$f.Close()}`
	// ScriptCommit: $t temp file, $p destination, $h expected SHA-256.
	ScriptCommit = `$g=(Get-FileHash -Algorithm SHA256 -LiteralPath $t).Hash.ToLower();if($g -ne $h){Remove-Item -LiteralPath $t -Force;[Console]::Error.WriteLine('sha256 mismatch: '+$g);exit 3};Move-Item -LiteralPath $t -Destination $p -Force;[Console]::Out.Write($g)`
	// ScriptRead: $p the file; base64 lines, then "=" and its SHA-256.
	ScriptRead = `$f=[IO.File]::OpenRead($p);$s=[Security.Cryptography.SHA256]::Create();$b=New-Object byte[] 196608;$o=[Console]::Out;try{while(($n=$f.Read($b,0,$b.Length)) -gt 0){[void]$s.TransformBlock($b,0,$n,$null,0);$o.Write([Convert]::ToBase64String($b,0,$n)+"` + "`n" + `")}}finally{$f.Close()};[void]$s.TransformFinalBlock($b,0,0);$o.Write('='+[BitConverter]::ToString($s.Hash).Replace('-','').ToLower())`
)

// Quote is s as a PowerShell single-quoted string literal. PowerShell
// also ends such a literal at the typographic quotes U+2018..U+201B, so
// those are doubled too.
func Quote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'', '\u2018', '\u2019', '\u201A', '\u201B':
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

// Param is a script with its parameters assigned first: names are
// constant identifiers, values are quoted.
func Param(script string, kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteString("$" + kv[i] + "=" + Quote(kv[i+1]) + ";")
	}
	return b.String() + script
}

// Upload writes r to path in the guest. mode is ignored: Windows files
// have ACLs, not mode bits.
func (c *Client) Upload(ctx context.Context, path string, r io.Reader, _ uint32) error {
	var tag [6]byte
	_, _ = rand.Read(tag[:])
	tmp := path + ".vcupload-" + hex.EncodeToString(tag[:])
	sum := sha256.New()
	buf := make([]byte, UploadChunk)
	mode := "Create"
	for {
		n, err := io.ReadFull(r, buf)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return fmt.Errorf("upload %s: reading the source: %w", path, err)
		}
		if n == 0 && mode == "Append" {
			break
		}
		sum.Write(buf[:n])
		if e := c.uploadChunk(ctx, tmp, mode, buf[:n]); e != nil {
			return fmt.Errorf("upload %s: %w", path, e)
		}
		mode = "Append"
		if err != nil {
			break
		}
	}
	want := hex.EncodeToString(sum.Sum(nil))
	res, err := c.Run(ctx, transport.Command{Cmd: Param(ScriptCommit, "t", tmp, "p", path, "h", want)})
	if err != nil {
		return fmt.Errorf("upload %s: commit: %w", path, err)
	}
	if res.Exit != 0 || strings.TrimSpace(string(res.Stdout)) != want {
		return fmt.Errorf("upload %s: the guest's SHA-256 check failed (exit %d, want %s): %s", path, res.Exit, want, short(strings.TrimSpace(string(res.Stderr))))
	}
	return nil
}

func (c *Client) uploadChunk(ctx context.Context, tmp, mode string, data []byte) error {
	pr, pw := io.Pipe()
	go func() {
		enc := base64.NewEncoder(base64.StdEncoding, pw)
		_, _ = enc.Write(data)
		pw.CloseWithError(enc.Close())
	}()
	res, err := c.Run(ctx, transport.Command{Cmd: Param(ScriptAppend, "t", tmp, "m", mode), Stdin: pr})
	pr.Close()
	if err != nil {
		return err
	}
	if res.Exit != 0 {
		return fmt.Errorf("chunk write exited %d: %s", res.Exit, short(strings.TrimSpace(string(res.Stderr))))
	}
	return nil
}

// Download streams the guest file at path into w, checking its SHA-256.
func (c *Client) Download(ctx context.Context, path string, w io.Writer) error {
	pr, pw := io.Pipe()
	dec := &downloadDecoder{w: w, sum: sha256.New()}
	done := make(chan error, 1)
	go func() {
		err := dec.consume(pr)
		pr.CloseWithError(err)
		done <- err
	}()
	var stderr strings.Builder
	exit, err := c.run(ctx, transport.Command{Cmd: Param(ScriptRead, "p", path)}, pw, &stderr)
	pw.Close()
	derr := <-done
	switch {
	case err != nil:
		return fmt.Errorf("download %s: %w", path, err)
	case exit != 0:
		return fmt.Errorf("download %s: exit %d: %s", path, exit, short(strings.TrimSpace(string(DecodeStderr([]byte(stderr.String()))))))
	case derr != nil:
		return fmt.Errorf("download %s: %w", path, derr)
	}
	if got := hex.EncodeToString(dec.sum.Sum(nil)); got != dec.remote {
		return fmt.Errorf("download %s: SHA-256 mismatch: received %s, the guest computed %q", path, got, dec.remote)
	}
	return nil
}

// downloadDecoder decodes ScriptRead's output: base64 lines, then
// "=<sha256>".
type downloadDecoder struct {
	w      io.Writer
	sum    hash.Hash
	remote string
}

func (d *downloadDecoder) consume(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if rest, ok := strings.CutPrefix(line, "="); ok {
			d.remote = rest
			continue
		}
		b, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return fmt.Errorf("bad base64 from the guest: %w", err)
		}
		d.sum.Write(b)
		if _, err := d.w.Write(b); err != nil {
			return err
		}
	}
	return sc.Err()
}
