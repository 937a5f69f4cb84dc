package proxyproto

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// AppendV1 appends nginx's outbound v1 line: the (realip-adjusted) client
// address and the proxy's own local address of the client connection.
// An invalid client address gives "PROXY UNKNOWN\r\n".
func AppendV1(b []byte, client, local netip.AddrPort) []byte {
	if !client.IsValid() || !local.IsValid() {
		return append(b, "PROXY UNKNOWN\r\n"...)
	}
	ca, la := client.Addr().Unmap(), local.Addr().Unmap()
	if ca.Is4() {
		b = append(b, "PROXY TCP4 "...)
	} else {
		b = append(b, "PROXY TCP6 "...)
	}
	b = ca.AppendTo(b)
	b = append(b, ' ')
	b = la.AppendTo(b)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(client.Port()), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(local.Port()), 10)
	return append(b, "\r\n"...)
}

// AppendV2 appends a v2 PROXY header (command PROXY, STREAM) for client and
// local; mixed families are sent as IPv6 with IPv4-mapped addresses.
// An invalid address gives a LOCAL header.
func AppendV2(b []byte, client, local netip.AddrPort) []byte {
	b = append(b, v2sig...)
	if !client.IsValid() || !local.IsValid() {
		return append(b, 0x20, 0x00, 0, 0)
	}
	ca, la := client.Addr().Unmap(), local.Addr().Unmap()
	if ca.Is4() && la.Is4() {
		b = append(b, 0x21, 0x11, 0, 12)
		b = append(b, ca.AsSlice()...)
		b = append(b, la.AsSlice()...)
	} else {
		b = append(b, 0x21, 0x21, 0, 36)
		c16, l16 := ca.As16(), la.As16()
		b = append(b, c16[:]...)
		b = append(b, l16[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, client.Port())
	return binary.BigEndian.AppendUint16(b, local.Port())
}
