// Package proxyproto reads the PROXY protocol header (v1 and v2) the way
// nginx does (SPEC.md §12.1) and writes nginx's outbound v1 and v2 headers
// (§12.3).
//
// nginx parses the header from a single peek of up to 4096 bytes and does
// not reassemble a header split across reads; Read does the same.
package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
)

// MaxHeader is how many bytes nginx (since 1.23.3) looks at.
const MaxHeader = 4096

// Header is a parsed PROXY header. HasAddrs is false for v1 UNKNOWN, v2
// LOCAL and v2 headers of families or transports nginx does not use.
type Header struct {
	Version  int
	HasAddrs bool
	// SrcAddr and DstAddr are the address texts: v1 exactly as the sender
	// wrote them, v2 in canonical form.
	SrcAddr, DstAddr string
	SrcPort, DstPort uint16
}

// Src returns the source as an address and port, or false when there is
// none or the text is not an IP literal.
func (h *Header) Src() (netip.AddrPort, bool) {
	if h == nil || !h.HasAddrs {
		return netip.AddrPort{}, false
	}
	return addrPort(h.SrcAddr, h.SrcPort)
}

// Dst returns the destination as an address and port, or false when
// there is none or the text is not an IP literal.
func (h *Header) Dst() (netip.AddrPort, bool) {
	if h == nil || !h.HasAddrs {
		return netip.AddrPort{}, false
	}
	return addrPort(h.DstAddr, h.DstPort)
}

func addrPort(text string, port uint16) (netip.AddrPort, bool) {
	a, err := netip.ParseAddr(text)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a.Unmap(), port), true
}

// Errors of Parse; their texts follow nginx's log messages.
var (
	ErrBroken   = errors.New("broken header")
	ErrVersion  = errors.New("unknown PROXY protocol version")
	ErrTooLarge = errors.New("header is too large")
)

// maxAddrText is the longest address text of a v1 header: an IPv6 address
// with an embedded IPv4 one, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".
const maxAddrText = 45

var v2sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

// Parse parses the header at the start of b, which holds everything that
// arrived in one read, and returns it with its length in bytes.
func Parse(b []byte) (*Header, int, error) {
	if len(b) >= 12 && bytes.Equal(b[:12], v2sig) {
		return parseV2(b)
	}
	return parseV1(b)
}

func brokenErr(b []byte) error {
	n := bytes.IndexAny(b, "\r\n")
	if n < 0 || n > 107 {
		n = min(len(b), 107)
	}
	return fmt.Errorf("%w: %q", ErrBroken, b[:n])
}

func parseV1(b []byte) (*Header, int, error) {
	if len(b) < 8 || !bytes.HasPrefix(b, []byte("PROXY ")) {
		return nil, 0, brokenErr(b)
	}
	p := 6
	if bytes.HasPrefix(b[p:], []byte("UNKNOWN")) {
		p += 7
		for ; p+1 < len(b); p++ {
			if b[p] == '\r' && b[p+1] == '\n' {
				return &Header{Version: 1}, p + 2, nil
			}
		}
		return nil, 0, brokenErr(b)
	}
	if len(b)-p < 5 || !bytes.HasPrefix(b[p:], []byte("TCP")) || (b[p+3] != '4' && b[p+3] != '6') || b[p+4] != ' ' {
		return nil, 0, brokenErr(b)
	}
	v6 := b[p+3] == '6'
	p += 5
	h := &Header{Version: 1, HasAddrs: true}
	var ok bool
	if h.SrcAddr, p, ok = readAddr(b, p, v6); !ok {
		return nil, 0, brokenErr(b)
	}
	if h.DstAddr, p, ok = readAddr(b, p, v6); !ok {
		return nil, 0, brokenErr(b)
	}
	if h.SrcPort, p, ok = readPort(b, p, ' '); !ok {
		return nil, 0, brokenErr(b)
	}
	if h.DstPort, p, ok = readPort(b, p, '\r'); !ok {
		return nil, 0, brokenErr(b)
	}
	if p >= len(b) || b[p] != '\n' {
		return nil, 0, brokenErr(b)
	}
	return h, p + 1, nil
}

// readAddr reads a v1 address ended by a space: an address of the
// declared family (TCP4: dotted quad, TCP6: an IPv6 address, perhaps
// IPv4-mapped), returned as the sender wrote it. nginx takes any run of
// hex digits, dots and colons and passes it on in Proxy-Protocol-Addr;
// only a real address of the family is accepted here.
func readAddr(b []byte, p int, v6 bool) (string, int, bool) {
	start := p
	for ; p < len(b); p++ {
		c := b[p]
		if c == ' ' {
			a, err := netip.ParseAddr(string(b[start:p]))
			if err != nil || a.Is6() != v6 {
				return "", 0, false
			}
			return string(b[start:p]), p + 1, true
		}
		if p-start == maxAddrText {
			return "", 0, false
		}
		if c != ':' && c != '.' && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F') && !(c >= '0' && c <= '9') {
			return "", 0, false
		}
	}
	return "", 0, false
}

func readPort(b []byte, p int, sep byte) (uint16, int, bool) {
	i := bytes.IndexByte(b[p:], sep)
	if i <= 0 || i > 5 {
		return 0, 0, false
	}
	n, err := strconv.Atoi(string(b[p : p+i]))
	if err != nil || n < 0 || n > 65535 || b[p] == '+' || b[p] == '-' {
		return 0, 0, false
	}
	return uint16(n), p + i + 1, true
}

func parseV2(b []byte) (*Header, int, error) {
	if len(b) < 16 {
		return nil, 0, ErrTooLarge
	}
	if b[12]>>4 != 2 {
		return nil, 0, ErrVersion
	}
	n := 16 + int(binary.BigEndian.Uint16(b[14:16]))
	if n > len(b) {
		return nil, 0, ErrTooLarge
	}
	h := &Header{Version: 2}
	cmd, fam, body := b[12]&0x0f, b[13], b[16:n]
	if cmd != 1 || fam&0x0f != 1 { // LOCAL, or not STREAM
		return h, n, nil
	}
	switch fam >> 4 {
	case 1: // INET
		if len(body) < 12 {
			return nil, 0, fmt.Errorf("%w: v2 INET addresses truncated", ErrBroken)
		}
		src := netip.AddrFrom4([4]byte(body[0:4]))
		dst := netip.AddrFrom4([4]byte(body[4:8]))
		h.SrcAddr, h.DstAddr = src.String(), dst.String()
		h.SrcPort, h.DstPort = binary.BigEndian.Uint16(body[8:10]), binary.BigEndian.Uint16(body[10:12])
	case 2: // INET6
		if len(body) < 36 {
			return nil, 0, fmt.Errorf("%w: v2 INET6 addresses truncated", ErrBroken)
		}
		src := netip.AddrFrom16([16]byte(body[0:16]))
		dst := netip.AddrFrom16([16]byte(body[16:32]))
		h.SrcAddr, h.DstAddr = src.String(), dst.String()
		h.SrcPort, h.DstPort = binary.BigEndian.Uint16(body[32:34]), binary.BigEndian.Uint16(body[34:36])
	default:
		return h, n, nil
	}
	h.HasAddrs = true
	return h, n, nil
}
