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
// local, followed by tlvs; mixed families are sent as IPv6 with
// IPv4-mapped addresses. An invalid address gives a LOCAL header (which
// still carries the TLVs). TLVs that would not fit the header's 16-bit
// length, or whose value exceeds 65535 bytes, are left out.
func AppendV2(b []byte, client, local netip.AddrPort, tlvs ...TLV) []byte {
	b = append(b, v2sig...)
	if !client.IsValid() || !local.IsValid() {
		tlvs = fitting(tlvs, 0)
		b = append(b, 0x20, 0x00)
		b = binary.BigEndian.AppendUint16(b, uint16(tlvSize(tlvs)))
		return appendTLVs(b, tlvs)
	}
	ca, la := client.Addr().Unmap(), local.Addr().Unmap()
	if ca.Is4() && la.Is4() {
		tlvs = fitting(tlvs, 12)
		b = append(b, 0x21, 0x11)
		b = binary.BigEndian.AppendUint16(b, uint16(12+tlvSize(tlvs)))
		b = append(b, ca.AsSlice()...)
		b = append(b, la.AsSlice()...)
	} else {
		tlvs = fitting(tlvs, 36)
		b = append(b, 0x21, 0x21)
		b = binary.BigEndian.AppendUint16(b, uint16(36+tlvSize(tlvs)))
		c16, l16 := ca.As16(), la.As16()
		b = append(b, c16[:]...)
		b = append(b, l16[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, client.Port())
	b = binary.BigEndian.AppendUint16(b, local.Port())
	return appendTLVs(b, tlvs)
}

// fitting returns the TLVs that fit, in order, after used bytes of
// addresses.
func fitting(tlvs []TLV, used int) []TLV {
	var out []TLV
	for _, t := range tlvs {
		if len(t.Value) <= 0xffff && used+3+len(t.Value) <= 0xffff {
			used += 3 + len(t.Value)
			out = append(out, t)
		}
	}
	return out
}
