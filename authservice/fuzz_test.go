package authservice

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// FuzzParseStored: any PASSWORD field parses or fails without a panic; a
// parsed one checks a password without a panic, and a SHA-crypt hash
// accepted at load is one the check can recompute.
func FuzzParseStored(f *testing.F) {
	for _, s := range []string{
		"secret", "{PLAIN}$x", doveadmBcrypt, "{SHA512-CRYPT}" + shaCryptVectors[4].hash,
		shaCryptVectors[3].hash, "$6$rounds=1000$salt$" + shaCryptVectors[2].hash[8:], "{CRYPT}$2y$04$x", "{", "$5$",
	} {
		f.Add(s, "secret")
	}
	f.Fuzz(func(t *testing.T, field, pw string) {
		s, err := parseStored(field)
		if err != nil {
			return
		}
		// Costly hashes (a users file may ask for a billion rounds) are
		// only checked for shape, to keep the fuzzer quick.
		switch s.scheme {
		case SchemeSHA512Crypt, SchemeSHA256Crypt:
			if strings.Contains(s.hash, "rounds=") && !strings.HasPrefix(s.hash[3:], "rounds=1000$") {
				return
			}
			if _, err := shaCrypt(pw, s.hash); err != nil {
				t.Fatalf("%q accepted but not checkable: %v", field, err)
			}
		case SchemeBLFCrypt:
			if cost, _ := bcrypt.Cost([]byte(s.hash)); cost > 5 {
				return
			}
		}
		s.check(pw)
	})
}
