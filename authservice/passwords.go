package authservice

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Password schemes of a users file's PASSWORD field, written as Dovecot
// writes them ({SCHEME}value), so a Dovecot passwd-file's hashes work.
const (
	SchemePlain       = "PLAIN"
	SchemeBLFCrypt    = "BLF-CRYPT"    // bcrypt: $2a$, $2b$ or $2y$
	SchemeSHA512Crypt = "SHA512-CRYPT" // SHA-crypt $6$
	SchemeSHA256Crypt = "SHA256-CRYPT" // SHA-crypt $5$
)

// stored is a user's password as the users file gives it: plaintext, or
// a hash that only checks a password typed in clear.
type stored struct {
	text   string // the field as written (decoded): compared across lines
	plain  string // the plaintext; "" with a hash
	scheme string // SchemePlain or a hash scheme
	hash   string // the crypt string, without {SCHEME}
}

// hashed reports a password kept as a hash: CRAM-MD5, APOP and the
// Auth-Pass answers need the plaintext, which it does not give.
func (s stored) hashed() bool { return s.scheme != SchemePlain }

// check compares a password typed in clear with the stored one, in
// constant time for plaintext (bcrypt and SHA-crypt compare the digests).
func (s stored) check(pw string) bool {
	switch s.scheme {
	case SchemePlain:
		return subtle.ConstantTimeCompare([]byte(pw), []byte(s.plain)) == 1
	case SchemeBLFCrypt:
		return bcrypt.CompareHashAndPassword([]byte(s.hash), []byte(pw)) == nil
	case SchemeSHA512Crypt, SchemeSHA256Crypt:
		got, err := shaCrypt(pw, s.hash)
		return err == nil && subtle.ConstantTimeCompare([]byte(got), []byte(s.hash)) == 1
	}
	return false
}

// parseStored reads a PASSWORD field (already percent-decoded):
//
//   - {PLAIN}text, or text that starts with neither "{" nor "$":
//     plaintext;
//   - {BLF-CRYPT}$2y$…, or a bare $2a$/$2b$/$2y$ hash: bcrypt;
//   - {SHA512-CRYPT}$6$…, {SHA256-CRYPT}$5$…, or a bare $6$/$5$ hash:
//     SHA-crypt;
//   - {CRYPT}hash: one of these hashes, by its prefix.
//
// Any other {SCHEME}, a malformed hash or a "$" string of no known kind
// is an error (a plaintext password starting with "{" or "$" is written
// {PLAIN}…).
func parseStored(field string) (stored, error) {
	s := stored{text: field}
	value := field
	scheme := ""
	if strings.HasPrefix(field, "{") {
		end := strings.IndexByte(field, '}')
		if end < 0 {
			return s, errors.New(`"{" without "}": write a plaintext password that starts with "{" as {PLAIN}…`)
		}
		scheme, value = strings.ToUpper(field[1:end]), field[end+1:]
	}
	switch scheme {
	case SchemePlain:
		s.scheme, s.plain = SchemePlain, value
		return s, nil
	case "":
		if !strings.HasPrefix(value, "$") {
			s.scheme, s.plain = SchemePlain, value
			return s, nil
		}
	case "CRYPT", SchemeBLFCrypt, SchemeSHA512Crypt, SchemeSHA256Crypt:
	default:
		return s, fmt.Errorf("unknown password scheme {%s}: want {PLAIN}, {BLF-CRYPT}, {SHA512-CRYPT}, {SHA256-CRYPT} or {CRYPT}", scheme)
	}
	kind := hashKind(value)
	if kind == "" || scheme != "" && scheme != "CRYPT" && scheme != kind {
		what := "a $2y$ (bcrypt), $6$ or $5$ (SHA-crypt) hash"
		if scheme == "" {
			return s, fmt.Errorf("%q is not %s: write a plaintext password that starts with \"$\" as {PLAIN}…", short(value), what)
		}
		return s, fmt.Errorf("{%s}: %q is not %s of that scheme", scheme, short(value), what)
	}
	s.scheme, s.hash = kind, value
	switch kind {
	case SchemeBLFCrypt:
		if _, err := bcrypt.Cost([]byte(value)); err != nil {
			return s, fmt.Errorf("{%s}: %v", kind, err)
		}
	default:
		if err := checkSHACrypt(value); err != nil {
			return s, fmt.Errorf("{%s}: %v", kind, err)
		}
	}
	return s, nil
}

// hashKind names the scheme of a crypt string by its prefix, or "".
func hashKind(h string) string {
	switch {
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		return SchemeBLFCrypt
	case strings.HasPrefix(h, "$6$"):
		return SchemeSHA512Crypt
	case strings.HasPrefix(h, "$5$"):
		return SchemeSHA256Crypt
	}
	return ""
}

// checkSHACrypt checks a stored SHA-crypt string: what shaCrypt would
// write for it, salt and rounds included, with a hash of the right
// length in crypt's alphabet.
func checkSHACrypt(h string) error {
	want := 86 // $6$
	if strings.HasPrefix(h, "$5$") {
		want = 43
	}
	i := strings.LastIndexByte(h, '$')
	sum := h[i+1:]
	if len(sum) != want || strings.Trim(sum, cryptAlphabet) != "" {
		return fmt.Errorf("%q: the hash part must be %d characters of crypt's alphabet", short(h), want)
	}
	again, err := shaCrypt("", h)
	if err != nil {
		return fmt.Errorf("%q: %v", short(h), err)
	}
	if again[:strings.LastIndexByte(again, '$')] != h[:i] {
		return fmt.Errorf("%q: bad salt or rounds (the salt is at most 16 characters, rounds from 1000 to 999999999)", short(h))
	}
	return nil
}

// short cuts a value for a message.
func short(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

// HashPassword returns password hashed for a users file, with Dovecot's
// scheme prefix: SchemeBLFCrypt (bcrypt at cost, 0 for bcrypt's
// default, as "$2y$", the form Dovecot writes) or SchemeSHA512Crypt /
// SchemeSHA256Crypt (a random 16-character salt; rounds 0 for the default
// 5000, else written into the hash).
func HashPassword(password, scheme string, cost, rounds int) (string, error) {
	switch strings.ToUpper(scheme) {
	case SchemeBLFCrypt:
		if cost == 0 {
			cost = bcrypt.DefaultCost
		}
		h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
		if err != nil {
			return "", err
		}
		return "{" + SchemeBLFCrypt + "}$2y$" + string(h[4:]), nil
	case SchemeSHA512Crypt, SchemeSHA256Crypt:
		prefix := "$6$"
		if strings.ToUpper(scheme) == SchemeSHA256Crypt {
			prefix = "$5$"
		}
		if rounds != 0 {
			if rounds < shaCryptMinRounds || rounds > shaCryptMaxRounds {
				return "", fmt.Errorf("rounds %d: want %d to %d", rounds, shaCryptMinRounds, shaCryptMaxRounds)
			}
			prefix += "rounds=" + strconv.Itoa(rounds) + "$"
		}
		salt := make([]byte, shaCryptMaxSalt)
		rand.Read(salt)
		for i, b := range salt {
			salt[i] = cryptAlphabet[b&0x3f]
		}
		h, err := shaCrypt(password, prefix+string(salt))
		if err != nil {
			return "", err
		}
		return "{" + strings.ToUpper(scheme) + "}" + h, nil
	}
	return "", fmt.Errorf("scheme %q: want %s, %s or %s", scheme, SchemeBLFCrypt, SchemeSHA512Crypt, SchemeSHA256Crypt)
}
