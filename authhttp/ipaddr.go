package authhttp

import "net/netip"

// This file holds nginx's own address parsers, ported byte for byte,
// because they accept and reject other texts than net/netip does (e.g.
// "127.0.0.01" and "1..2.3" are IPv4 for nginx, "255.255.255.255" is not,
// ":1::2" is IPv6, zones never are).

// parseIPv4 is ngx_inet_addr: digits and exactly three dots, each octet at
// most 255 (leading zeros and empty octets allowed). The all-ones address
// is nginx's INADDR_NONE and therefore rejected.
func parseIPv4(s []byte) (uint32, bool) {
	var addr, octet uint32
	dots := 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			octet = octet*10 + uint32(c-'0')
			if octet > 255 {
				return 0, false
			}
		case c == '.':
			addr = addr<<8 + octet
			octet = 0
			dots++
		default:
			return 0, false
		}
	}
	if dots != 3 {
		return 0, false
	}
	addr = addr<<8 + octet
	if addr == 0xFFFFFFFF {
		return 0, false
	}
	return addr, true
}

// parseIPv6 is ngx_inet6_addr: hex groups of at most four digits, one "::",
// an optional dotted IPv4 tail, and (a quirk kept on purpose) one leading
// ':' skipped. No brackets, no zone.
func parseIPv6(s []byte) (out [16]byte, ok bool) {
	if len(s) == 0 {
		return out, false
	}
	zero, digit, len4 := -1, -1, 0
	nibbles, n, a := 0, 8, 0
	var word uint32
	i := 0
	if s[0] == ':' {
		i = 1
	}
	for ; i < len(s); i++ {
		c := s[i]
		rest := len(s) - i // nginx's remaining length, c included
		if c == ':' {
			if nibbles > 0 {
				digit, len4 = i+1, rest
				out[a], out[a+1] = byte(word>>8), byte(word)
				a += 2
				n--
				if n > 0 {
					nibbles, word = 0, 0
					continue
				}
			} else if zero < 0 {
				digit, len4, zero = i+1, rest, a
				continue
			}
			return out, false
		}
		if c == '.' && nibbles > 0 {
			if n < 2 || digit < 0 {
				return out, false
			}
			v, ok := parseIPv4(s[digit : digit+len4-1])
			if !ok {
				return out, false
			}
			out[a], out[a+1] = byte(v>>24), byte(v>>16)
			a += 2
			n--
			word = v & 0xFFFF
			break
		}
		nibbles++
		if nibbles > 4 {
			return out, false
		}
		switch lc := c | 0x20; {
		case c >= '0' && c <= '9':
			word = word*16 + uint32(c-'0')
		case lc >= 'a' && lc <= 'f':
			word = word*16 + uint32(lc-'a') + 10
		default:
			return out, false
		}
	}
	if nibbles == 0 && zero < 0 {
		return out, false
	}
	out[a], out[a+1] = byte(word>>8), byte(word)
	a += 2
	n--
	if n > 0 {
		if zero < 0 {
			return out, false
		}
		shift := 2 * n
		copy(out[zero+shift:a+shift], out[zero:a])
		clear(out[zero : zero+shift])
		return out, true
	}
	return out, zero < 0
}

// parseAddr is ngx_parse_addr as used for Auth-Server: an IPv4 literal,
// else an IPv6 literal, else not an address.
func parseAddr(s []byte) (netip.Addr, bool) {
	if v, ok := parseIPv4(s); ok {
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
	}
	if a, ok := parseIPv6(s); ok {
		return netip.AddrFrom16(a), true
	}
	return netip.Addr{}, false
}
