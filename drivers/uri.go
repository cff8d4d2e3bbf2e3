package drivers

import (
	"errors"
	"net/url"
	"strings"
)

// The URI helpers below are the one place that decides whether a host URI
// carries a password and how a URI is printed. Every driver and the plan
// loader call them, whatever the URI grammar, so a secret typed into a URI
// is refused before anything is written and never reaches a message.

// userinfo splits s into the text before its userinfo, the userinfo (what
// precedes the last '@' of the authority) and the rest. ok is false when
// s has no userinfo. It works on any URI shape, with or without a scheme
// ("user:pw@host:22", "qemu+ssh://u:p@h/system"), and on text url.Parse
// refuses, so a malformed URI is redacted too.
func userinfo(s string) (pre, info, rest string, ok bool) {
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + 3
	}
	end := len(s)
	if i := strings.IndexAny(s[start:], "/?#"); i >= 0 {
		end = start + i
	}
	at := strings.LastIndexByte(s[start:end], '@')
	if at < 0 {
		return s, "", "", false
	}
	return s[:start], s[start : start+at], s[start+at:], true
}

// URIHasPassword reports whether the URI's userinfo holds a password
// ("user:secret@host"), even an empty one or a ${VAR} to be expanded.
func URIHasPassword(s string) bool {
	_, info, _, ok := userinfo(s)
	return ok && strings.Contains(info, ":")
}

// RedactedPassword replaces a URI's password in everything printed.
const RedactedPassword = "xxxxx"

// RedactURI returns s with the password of its userinfo replaced by
// RedactedPassword (the user name stays: it is not a secret and helps the
// reader). Use it in every message, log and report that shows a URI.
func RedactURI(s string) string {
	pre, info, rest, ok := userinfo(s)
	if !ok {
		return s
	}
	if i := strings.IndexByte(info, ':'); i >= 0 {
		info = info[:i+1] + RedactedPassword
	}
	return pre + info + rest
}

// URIPasswordMessage is the one message for a password found in a URI.
const URIPasswordMessage = "a password does not belong in the URI; remove it and use password_env or password_file"

// URLParseCause is what url.Parse objected to, without the URL itself
// (*url.Error repeats the whole input, password included).
func URLParseCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
