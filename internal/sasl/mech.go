package sasl

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Mechanism names as clients spell them (matched case-insensitively).
const (
	Plain    = "PLAIN"
	Login    = "LOGIN"
	CRAMMD5  = "CRAM-MD5"
	External = "EXTERNAL"
	// XOAUTH2 and OAuthBearer (RFC 7628) carry an OAuth 2.0 bearer
	// token.
	XOAUTH2     = "XOAUTH2"
	OAuthBearer = "OAUTHBEARER"
)

// Challenges of the LOGIN and EXTERNAL mechanisms, base64 encoded.
const (
	UsernameChallenge = "VXNlcm5hbWU6" // "Username:"
	PasswordChallenge = "UGFzc3dvcmQ6" // "Password:"
)

// Errors of the PLAIN and CRAM-MD5 splits; their texts are the nginx log
// messages' tails.
var (
	ErrPlainLogin    = errors.New("invalid login in AUTH PLAIN command")
	ErrPlainPassword = errors.New("invalid password in AUTH PLAIN command")
	ErrCRAMHash      = errors.New("invalid CRAM-MD5 hash in AUTH CRAM-MD5 command")
)

// SplitPlain splits a decoded PLAIN response (authzid NUL authcid NUL
// password). The authzid is dropped, as nginx drops it; the password is
// everything after the second NUL and may itself contain NULs.
func SplitPlain(b []byte) (user, pass string, err error) {
	i := bytes.IndexByte(b, 0)
	if i < 0 || i == len(b)-1 {
		return "", "", ErrPlainLogin
	}
	rest := b[i+1:]
	j := bytes.IndexByte(rest, 0)
	if j < 0 {
		return "", "", ErrPlainPassword
	}
	return string(rest[:j]), string(rest[j+1:]), nil
}

// SplitCRAM splits a decoded CRAM-MD5 response at its first space: the user
// is before it, the digest after it and must be exactly 32 bytes.
func SplitCRAM(b []byte) (user, digest string, err error) {
	i := bytes.IndexByte(b, ' ')
	if i < 0 || len(b)-i-1 != 32 {
		return "", "", ErrCRAMHash
	}
	return string(b[:i]), string(b[i+1:]), nil
}

// NewSalt returns a salt of nginx's form <R.T@NAME>: R a random 31-bit
// decimal, T the Unix time in seconds, NAME the server name.
func NewSalt(serverName string) string {
	return fmt.Sprintf("<%d.%d@%s>", rand.Uint32()>>1, time.Now().Unix(), serverName)
}

// EqualFold reports whether mechanism name m equals want, ignoring case.
func EqualFold(m []byte, want string) bool {
	return strings.EqualFold(string(m), want)
}
