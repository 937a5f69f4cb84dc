package authservice

import (
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"hash"
	"strconv"
	"strings"
)

// SHA-crypt, Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512"
// (the $5$ and $6$ hashes of glibc's crypt(3), Dovecot's SHA256-CRYPT and
// SHA512-CRYPT schemes): golang.org/x/crypto has no implementation.

const (
	shaCryptDefaultRounds = 5000
	shaCryptMinRounds     = 1000
	shaCryptMaxRounds     = 999999999
	shaCryptMaxSalt       = 16
	cryptAlphabet         = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// shaVariant is one of the two SHA-crypt algorithms.
type shaVariant struct {
	prefix string // "$5$" or "$6$"
	new    func() hash.Hash
	size   int
	// order lists the groups of three digest bytes (most significant
	// first) the encoding writes as four characters, then the bytes of
	// the short last group.
	order [][3]int
	tail  []int // -1: a zero byte
	tailN int   // characters of the last group
}

var sha256Crypt = shaVariant{prefix: "$5$", new: sha256.New, size: 32, order: groups(21, 10, 30), tail: []int{-1, 31, 30}, tailN: 3}
var sha512Crypt = shaVariant{prefix: "$6$", new: sha512.New, size: 64, order: groups(22, 21, 63), tail: []int{-1, -1, 63}, tailN: 2}

// groups builds the byte order of the spec's final encoding: group j is
// (a, a+d, a+2d) mod m with a = step*j mod m, for the m/3 full groups.
func groups(step, d, m int) [][3]int {
	out := make([][3]int, m/3)
	for j := range out {
		a := step * j % m
		out[j] = [3]int{a, (a + d) % m, (a + 2*d) % m}
	}
	return out
}

// shaCrypt hashes password with the setting of a $5$ or $6$ string
// (prefix, optional "rounds=N$", salt, optionally followed by "$" and a
// hash, which is ignored) and returns the full crypt string, as glibc's
// crypt(3) does: the salt is cut to 16 characters, rounds are clamped to
// [1000, 999999999] and written only when the setting gives them.
func shaCrypt(password, setting string) (string, error) {
	var v shaVariant
	switch {
	case strings.HasPrefix(setting, sha512Crypt.prefix):
		v = sha512Crypt
	case strings.HasPrefix(setting, sha256Crypt.prefix):
		v = sha256Crypt
	default:
		return "", errors.New("not a $5$ or $6$ hash")
	}
	rest := setting[len(v.prefix):]
	rounds, custom := shaCryptDefaultRounds, false
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		n, tail, found := strings.Cut(r, "$")
		if !found {
			return "", errors.New("rounds= without a salt")
		}
		x, err := strconv.ParseUint(n, 10, 64)
		if err != nil || n == "" {
			return "", errors.New("invalid rounds=" + n)
		}
		rounds, custom, rest = int(min(max(x, shaCryptMinRounds), shaCryptMaxRounds)), true, tail
	}
	salt, _, _ := strings.Cut(rest, "$")
	if len(salt) > shaCryptMaxSalt {
		salt = salt[:shaCryptMaxSalt]
	}
	sum := v.digest([]byte(password), []byte(salt), rounds)
	var b strings.Builder
	b.WriteString(v.prefix)
	if custom {
		b.WriteString("rounds=" + strconv.Itoa(rounds) + "$")
	}
	b.WriteString(salt)
	b.WriteByte('$')
	for _, g := range v.order {
		encode24(&b, sum[g[0]], sum[g[1]], sum[g[2]], 4)
	}
	var t [3]byte
	for i, idx := range v.tail {
		if idx >= 0 {
			t[i] = sum[idx]
		}
	}
	encode24(&b, t[0], t[1], t[2], v.tailN)
	return b.String(), nil
}

// encode24 writes n characters of the 24-bit value b2 b1 b0, least
// significant six bits first.
func encode24(b *strings.Builder, b2, b1, b0 byte, n int) {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	for range n {
		b.WriteByte(cryptAlphabet[w&0x3f])
		w >>= 6
	}
}

// digest runs the spec's steps 1 to 21.
func (v shaVariant) digest(p, s []byte, rounds int) []byte {
	h := v.new()
	// B = H(P S P)
	h.Write(p)
	h.Write(s)
	h.Write(p)
	b := h.Sum(nil)
	// A = H(P S, B for each byte of P, then B or P by the bits of len(P))
	h.Reset()
	h.Write(p)
	h.Write(s)
	n := len(p)
	for ; n > v.size; n -= v.size {
		h.Write(b)
	}
	h.Write(b[:n])
	for n = len(p); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(b)
		} else {
			h.Write(p)
		}
	}
	a := h.Sum(nil)
	// DP = H(P repeated len(P) times); the P sequence is len(P) bytes of it.
	h.Reset()
	for range len(p) {
		h.Write(p)
	}
	pSeq := repeatTo(h.Sum(nil), len(p))
	// DS = H(S repeated 16+A[0] times); the S sequence is len(S) bytes.
	h.Reset()
	for range 16 + int(a[0]) {
		h.Write(s)
	}
	sSeq := repeatTo(h.Sum(nil), len(s))
	c := a
	for i := range rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(pSeq)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(sSeq)
		}
		if i%7 != 0 {
			h.Write(pSeq)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(pSeq)
		}
		c = h.Sum(c[:0])
	}
	return c
}

// repeatTo returns n bytes of d repeated.
func repeatTo(d []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, d[:min(len(d), n-len(out))]...)
	}
	return out
}
