package authservice

import "strings"

// PercentDecode undoes nginx's escaping of Auth-User, Auth-Pass and
// Auth-SSL-Cert (SPEC.md §9.4): every "%XX" with two hex digits (either
// case) becomes the byte 0xXX. Nothing else changes: "+" stays a plus, and
// a "%" that does not start a valid sequence is kept as is (nginx never
// sends one, since it escapes "%" itself as "%25").
func PercentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		}
		b.WriteByte(c)
	}
	return b.String()
}

// sanitize makes s safe as a header value: CR, LF, NUL and the other
// control bytes except TAB become "?", so no value can end a header line
// early or inject a header.
func sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if isCtl(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if isCtl(c) {
			b[i] = '?'
		}
	}
	return string(b)
}

// isCtl reports whether c is a control byte other than TAB.
func isCtl(c byte) bool {
	return (c < 0x20 && c != '\t') || c == 0x7f
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
