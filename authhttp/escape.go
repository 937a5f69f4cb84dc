package authhttp

// upperhex are the digits nginx's ngx_escape_uri writes after a '%'.
const upperhex = "0123456789ABCDEF"

// needsEscape reports whether nginx's NGX_ESCAPE_MAIL_AUTH table escapes c:
// the control bytes 0x00–0x1F, SP (0x20) and '%' (SPEC §9.4).
func needsEscape(c byte) bool {
	return c <= ' ' || c == '%'
}

// AppendEscape appends s to dst escaped as nginx escapes Auth-User,
// Auth-Pass and Auth-SSL-Cert (SPEC §9.4): every byte 0x00–0x20 and '%'
// becomes '%' followed by two upper-case hex digits; every other byte,
// including 0x7F, bytes ≥ 0x80 (UTF-8 passes through), '+', '&' and '=',
// is copied unchanged. It never allocates when dst has room.
func AppendEscape(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if needsEscape(c) {
			dst = append(dst, '%', upperhex[c>>4], upperhex[c&0xF])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// Escape returns s escaped as AppendEscape does. It returns s itself when
// no byte needs escaping.
func Escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if needsEscape(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	return string(AppendEscape(make([]byte, 0, len(s)+2*n), s))
}
