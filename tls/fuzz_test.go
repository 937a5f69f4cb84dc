package tls

import (
	"testing"
	"unicode/utf8"
)

// FuzzDN: DN formats names from client certificates; whatever the bytes,
// it must not panic, and what it returns is valid UTF-8 without control
// characters (it ends up in an auth request header).
func FuzzDN(f *testing.F) {
	for _, raw := range oracleNames(f) {
		f.Add(raw)
	}
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		s := DN(raw)
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8: %q", s)
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] == 0x7f || s[i] >= 0x80 {
				t.Fatalf("unescaped byte %#x in %q", s[i], s)
			}
		}
	})
}
