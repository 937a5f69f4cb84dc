// Package sasl holds what the three front ends share for SASL exchanges:
// base64 decoded the lenient way nginx decodes it (SPEC.md §3.4), the
// PLAIN and CRAM-MD5 response splits, and the APOP/CRAM-MD5 salt.
package sasl

import (
	"encoding/base64"
	"errors"
)

// ErrBase64 reports input that nginx's decoder refuses.
var ErrBase64 = errors.New("invalid base64 encoding")

// Decode decodes s as nginx does: decoding stops at the first '=' and
// anything after it is ignored; padding is optional; a byte outside the
// standard alphabet before the first '=' is an error, as is a length of
// alphabet characters that is 1 modulo 4; leftover bits are dropped.
func Decode(s []byte) ([]byte, error) {
	n := len(s)
	for i, c := range s {
		if c == '=' {
			n = i
			break
		}
		if !isAlphabet(c) {
			return nil, ErrBase64
		}
	}
	s = s[:n]
	if n%4 == 1 {
		return nil, ErrBase64
	}
	dst := make([]byte, base64.RawStdEncoding.DecodedLen(n))
	// RawStdEncoding is strict about leftover bits; nginx is not, so clear
	// them in the last character first.
	if n%4 != 0 {
		tail := make([]byte, n)
		copy(tail, s)
		last := decodeMap[tail[n-1]]
		if n%4 == 2 {
			last &^= 0x0f
		} else {
			last &^= 0x03
		}
		tail[n-1] = encodeStd[last]
		s = tail
	}
	m, err := base64.RawStdEncoding.Decode(dst, s)
	if err != nil {
		return nil, ErrBase64
	}
	return dst[:m], nil
}

// Encode is standard base64 with padding, as used for challenges.
func Encode(b []byte) string {
	return base64.StdEncoding.EncodeToString(b)
}

const encodeStd = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

var decodeMap = func() (m [256]byte) {
	for i := range encodeStd {
		m[encodeStd[i]] = byte(i)
	}
	return m
}()

func isAlphabet(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}
