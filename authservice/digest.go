package authservice

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// CRAMMD5Digest returns the CRAM-MD5 response digest (RFC 2195) a client
// computes for password and the server's challenge salt: the lower-case
// hex of HMAC-MD5 keyed with the password over the salt.
func CRAMMD5Digest(password, salt string) string {
	m := hmac.New(md5.New, []byte(password))
	m.Write([]byte(salt))
	return hex.EncodeToString(m.Sum(nil))
}

// APOPDigest returns the APOP digest (RFC 1939 §7): the lower-case hex of
// MD5 over the greeting timestamp (salt) followed by the password.
func APOPDigest(password, salt string) string {
	sum := md5.Sum([]byte(salt + password))
	return hex.EncodeToString(sum[:])
}

// digestEqual compares a client digest with the expected lower-case hex in
// constant time; the client's hex may be upper-case.
func digestEqual(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(want)) == 1
}

// passwordEqual compares two passwords in constant time.
func passwordEqual(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
