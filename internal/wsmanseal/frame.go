// Package wsmanseal is WinRM message encryption over plain HTTP
// ([MS-WSMV] 2.2.9.1.1, "HTTP-SPNEGO-session-encrypted"): each SOAP
// envelope is sealed with the NTLM session of the connection and framed
// as multipart/encrypted.
//
// The client (Client) uses github.com/bodgit/ntlmssp for the NTLM
// exchange and the seal/sign itself. masterzen/winrm's Encryption is not
// used: its Post falls back to unencrypted NTLM when the empty handshake
// request fails, sends an empty sealed stream when no session was
// established, and accepts a response that is not sealed as it is. This
// client either seals every message and unseals every answer, or fails.
//
// The framing is written here rather than taken from bodgit's
// ntlmssp/http Wrap/Unwrap: those rewrite the body line by line and would
// treat a binary line of the sealed data that looks like a MIME header as
// one. The framing below cuts by the declared lengths instead.
package wsmanseal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"
)

const (
	// Protocol is the encrypted message type for NTLM (and Kerberos).
	Protocol = "application/HTTP-SPNEGO-session-encrypted"
	// ContentType is the HTTP Content-Type of a sealed message.
	ContentType = `multipart/encrypted;protocol="` + Protocol + `";boundary="Encrypted Boundary"`
	boundary    = "--Encrypted Boundary"
	soapType    = "application/soap+xml;charset=UTF-8"
)

// IsSealed reports whether an HTTP Content-Type announces a sealed body.
func IsSealed(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "multipart/encrypted" && strings.EqualFold(params["protocol"], Protocol)
}

// Frame builds the multipart/encrypted body for one sealed message:
// signature and sealed bytes as Wrap returned them, plainLen the length
// of the original envelope.
func Frame(signature, sealed []byte, plainLen int) []byte {
	var b bytes.Buffer
	b.WriteString(boundary + "\r\n")
	b.WriteString("\tContent-Type: " + Protocol + "\r\n")
	fmt.Fprintf(&b, "\tOriginalContent: type=%s;Length=%d\r\n", soapType, plainLen)
	b.WriteString(boundary + "\r\n")
	b.WriteString("\tContent-Type: application/octet-stream\r\n")
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(signature)))
	b.Write(signature)
	b.Write(sealed)
	b.WriteString(boundary + "--\r\n")
	return b.Bytes()
}

// ErrFrame is a sealed body that is not framed as [MS-WSMV] says.
var ErrFrame = errors.New("malformed multipart/encrypted body")

// Unframe splits a sealed body into its signature, its sealed bytes and
// the declared length of the plain envelope. Exactly one part is
// accepted (WinRM's NTLM encryption never sends more).
func Unframe(body []byte) (signature, sealed []byte, plainLen int, err error) {
	head := boundary + "\r\n\tContent-Type: " + Protocol + "\r\n\tOriginalContent: "
	if !bytes.HasPrefix(body, []byte(head)) {
		return nil, nil, 0, fmt.Errorf("%w: no encrypted-part header", ErrFrame)
	}
	rest := body[len(head):]
	line, rest, ok := bytes.Cut(rest, []byte("\r\n"))
	if !ok {
		return nil, nil, 0, fmt.Errorf("%w: unterminated OriginalContent", ErrFrame)
	}
	_, l, ok := strings.Cut(string(line), "Length=")
	if !ok {
		return nil, nil, 0, fmt.Errorf("%w: OriginalContent has no Length", ErrFrame)
	}
	plainLen, err = strconv.Atoi(strings.TrimSpace(l))
	if err != nil || plainLen < 0 {
		return nil, nil, 0, fmt.Errorf("%w: bad Length %q", ErrFrame, l)
	}
	octet := boundary + "\r\n\tContent-Type: application/octet-stream\r\n"
	if !bytes.HasPrefix(rest, []byte(octet)) {
		return nil, nil, 0, fmt.Errorf("%w: no octet-stream part", ErrFrame)
	}
	rest = rest[len(octet):]
	if len(rest) < 4 {
		return nil, nil, 0, fmt.Errorf("%w: truncated", ErrFrame)
	}
	sigLen := int(binary.LittleEndian.Uint32(rest))
	rest = rest[4:]
	// plainLen is attacker-chosen and may be near MaxInt: compare
	// without adding, so the sum cannot wrap negative and pass.
	if sigLen != 16 || plainLen < 0 || plainLen > len(rest)-sigLen {
		return nil, nil, 0, fmt.Errorf("%w: signature or data truncated", ErrFrame)
	}
	signature, sealed, rest = rest[:sigLen], rest[sigLen:sigLen+plainLen], rest[sigLen+plainLen:]
	// RC4 keeps the length, so the sealed data is exactly plainLen long
	// and the closing boundary follows it.
	if string(bytes.TrimRight(rest, "\r\n")) != boundary+"--" {
		return nil, nil, 0, fmt.Errorf("%w: trailing data after the sealed part", ErrFrame)
	}
	return signature, sealed, plainLen, nil
}
