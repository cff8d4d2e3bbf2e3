package diag

import (
	"bytes"
	"regexp"
)

// Removed replaces every line Scrub takes out.
const Removed = "[line removed by virtcert: it may hold a secret]"

// secretLine matches a line that may carry key material or a password:
// cloud-init logs can echo the seed's user-data (the guest's private
// host key, a password), and a journal can repeat them.
var secretLine = regexp.MustCompile(`(?i)private[ _-]?key|_private\b|_private["':]|passw(or)?d|passphrase|secret|token|chpasswd|BEGIN [A-Z0-9 ]*KEY`)

var (
	pemBegin = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|-----BEGIN [A-Z0-9 ]*KEY-----`)
	pemEnd   = regexp.MustCompile(`-----END [A-Z0-9 ]*KEY-----`)
)

// Scrub replaces each line that may hold a secret with Removed: lines
// naming a private key, password, passphrase, secret or token, and every
// line of a PEM key block (its base64 body names nothing).
func Scrub(b []byte) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	out := make([]byte, 0, len(b))
	inBlock := false
	for _, l := range lines {
		drop := inBlock || secretLine.Match(l)
		if pemBegin.Match(l) && !pemEnd.Match(l[pemBegin.FindIndex(l)[1]:]) {
			inBlock = true
		} else if inBlock && pemEnd.Match(l) {
			inBlock = false
		}
		if !drop {
			out = append(out, l...)
			continue
		}
		out = append(out, Removed...)
		if bytes.HasSuffix(l, []byte("\n")) {
			out = append(out, '\n')
		}
	}
	return out
}
