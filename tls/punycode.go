package tls

import (
	"strings"
	"unicode/utf8"
)

// aToULabel converts the A-labels ("xn--…") of a host name to their
// Unicode form (RFC 3492 Punycode), as OpenSSL's ossl_a2ulabel does for
// name constraints on SmtpUTF8Mailbox addresses; other labels are kept.
func aToULabel(host string) (string, bool) {
	labels := strings.Split(host, ".")
	for i, l := range labels {
		if len(l) < 4 || !strings.EqualFold(l[:4], "xn--") {
			continue
		}
		u, ok := punyDecode(l[4:])
		if !ok {
			return "", false
		}
		labels[i] = u
	}
	return strings.Join(labels, "."), true
}

// punyDecode is RFC 3492's decoding procedure.
func punyDecode(s string) (string, bool) {
	const (
		base, tmin, tmax, skew, damp = 36, 1, 26, 38, 700
		initialBias, initialN        = 72, 128
	)
	var out []rune
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		for _, c := range []byte(s[:i]) {
			if c >= 0x80 {
				return "", false
			}
			out = append(out, rune(c))
		}
		s = s[i+1:]
	}
	n, bias, i := rune(initialN), int32(initialBias), int32(0)
	adapt := func(delta, points int32, first bool) int32 {
		if first {
			delta /= damp
		} else {
			delta /= 2
		}
		delta += delta / points
		k := int32(0)
		for delta > ((base-tmin)*tmax)/2 {
			delta /= base - tmin
			k += base
		}
		return k + (base-tmin+1)*delta/(delta+skew)
	}
	for p := 0; p < len(s); {
		oldi, w := i, int32(1)
		for k := int32(base); ; k += base {
			if p == len(s) {
				return "", false
			}
			c := s[p]
			p++
			var digit int32
			switch {
			case c >= '0' && c <= '9':
				digit = int32(c-'0') + 26
			case c >= 'a' && c <= 'z':
				digit = int32(c - 'a')
			case c >= 'A' && c <= 'Z':
				digit = int32(c - 'A')
			default:
				return "", false
			}
			if digit > (1<<31-1-i)/w {
				return "", false
			}
			i += digit * w
			t := k - bias
			if t < tmin {
				t = tmin
			} else if t > tmax {
				t = tmax
			}
			if digit < t {
				break
			}
			if w > (1<<31-1)/(base-t) {
				return "", false
			}
			w *= base - t
		}
		count := int32(len(out) + 1)
		bias = adapt(i-oldi, count, oldi == 0)
		if i/count > utf8.MaxRune-n {
			return "", false
		}
		n += i / count
		i %= count
		if !utf8.ValidRune(n) {
			return "", false
		}
		out = append(out[:i], append([]rune{n}, out[i:]...)...)
		i++
	}
	return string(out), true
}
