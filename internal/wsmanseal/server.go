package wsmanseal

// The acceptor's half of NTLM session security (MS-NLMP 3.4.4 and
// 3.4.5, NTLMv2 with extended session security and 128-bit keys), for
// the fixture servers that play a Windows WinRM service.
//
// Written by hand because github.com/bodgit/ntlmssp, which the client
// uses, builds a SecuritySession only inside its Client
// (newSecuritySession is unexported) and has no acceptor. The code is
// small: key derivation is MD5 over the exported session key and a
// constant, sealing is RC4, the signature is HMAC-MD5. Its tests check
// it against bodgit's client session in both directions, so it is not
// proven only against itself.

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"sync"
)

// NTLM negotiate flags that session security depends on (MS-NLMP 2.2.2.5).
const (
	FlagSign        = 0x00000010
	FlagSeal        = 0x00000020
	FlagExtendedSec = 0x00080000
	Flag128         = 0x20000000
	FlagKeyExch     = 0x40000000
	// FlagsNeeded are the flags without which this package neither
	// offers nor accepts sealing: Windows' default NTLMMinServerSec
	// (since Windows 7) also requires 128-bit keys and NTLMv2 session
	// security.
	FlagsNeeded = FlagSign | FlagSeal | FlagExtendedSec | Flag128
)

var (
	clientSignMagic = []byte("session key to client-to-server signing key magic constant\x00")
	serverSignMagic = []byte("session key to server-to-client signing key magic constant\x00")
	clientSealMagic = []byte("session key to client-to-server sealing key magic constant\x00")
	serverSealMagic = []byte("session key to server-to-client sealing key magic constant\x00")
)

// ServerSession seals the answers to and unseals the requests of one
// authenticated connection. Calls are serialised.
type ServerSession struct {
	mu              sync.Mutex
	keyExch         bool
	inSign, outSign []byte
	in, out         *rc4.Cipher
	inSeq, outSeq   uint32
}

// ErrWeakSeal is a negotiation without the flags sealing needs here.
var ErrWeakSeal = errors.New("NTLM session security needs sign, seal, extended session security and 128-bit keys")

func md5of(parts ...[]byte) []byte {
	h := md5.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// NewServerSession derives the server's keys from the negotiated flags
// and the exported session key of an accepted AUTHENTICATE.
func NewServerSession(flags uint32, exportedKey []byte) (*ServerSession, error) {
	if flags&FlagsNeeded != FlagsNeeded || len(exportedKey) != 16 {
		return nil, ErrWeakSeal
	}
	in, err := rc4.NewCipher(md5of(exportedKey, clientSealMagic))
	if err != nil {
		return nil, err
	}
	out, err := rc4.NewCipher(md5of(exportedKey, serverSealMagic))
	if err != nil {
		return nil, err
	}
	return &ServerSession{
		keyExch: flags&FlagKeyExch != 0,
		inSign:  md5of(exportedKey, clientSignMagic),
		outSign: md5of(exportedKey, serverSignMagic),
		in:      in,
		out:     out,
	}, nil
}

func checksum(key []byte, seq uint32, msg []byte) []byte {
	m := hmac.New(md5.New, key)
	_ = binary.Write(m, binary.LittleEndian, seq)
	m.Write(msg)
	return m.Sum(nil)[:8]
}

// ErrSignature is a sealed message whose signature or sequence number
// does not verify: tampered with, replayed, or sealed with another key.
var ErrSignature = errors.New("sealed message signature does not verify")

// Unwrap unseals one request and verifies its signature.
func (s *ServerSession) Unwrap(signature, sealed []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(signature) != 16 || binary.LittleEndian.Uint32(signature) != 1 {
		return nil, ErrSignature
	}
	plain := make([]byte, len(sealed))
	s.in.XORKeyStream(plain, sealed)
	want := checksum(s.inSign, s.inSeq, plain)
	if s.keyExch {
		s.in.XORKeyStream(want, want)
	}
	if subtle.ConstantTimeCompare(want, signature[4:12]) != 1 || binary.LittleEndian.Uint32(signature[12:]) != s.inSeq {
		return nil, ErrSignature
	}
	s.inSeq++
	return plain, nil
}

// Wrap seals one answer and returns its signature and sealed bytes.
func (s *ServerSession) Wrap(plain []byte) (signature, sealed []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sealed = make([]byte, len(plain))
	s.out.XORKeyStream(sealed, plain)
	sum := checksum(s.outSign, s.outSeq, plain)
	if s.keyExch {
		s.out.XORKeyStream(sum, sum)
	}
	signature = make([]byte, 16)
	binary.LittleEndian.PutUint32(signature, 1)
	copy(signature[4:], sum)
	binary.LittleEndian.PutUint32(signature[12:], s.outSeq)
	s.outSeq++
	return signature, sealed
}
