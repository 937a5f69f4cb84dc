package proxyproto

import "encoding/binary"

// TLV types of the v2 header (PROXY protocol §2.2) that mailproxy sends.
const (
	TypeALPN          = 0x01 // the negotiated application protocol
	TypeAuthority     = 0x02 // the host name the client asked for (SNI)
	TypeSSL           = 0x20 // facts about the client's TLS connection
	SubtypeSSLVersion = 0x21 // within TypeSSL: "TLSv1.3" etc.
	SubtypeSSLCN      = 0x22 // within TypeSSL: the client certificate's common name
	SubtypeSSLCipher  = 0x23 // within TypeSSL: OpenSSL's cipher name
)

// Bits of the TypeSSL client field.
const (
	ClientSSL      = 0x01 // the client connected over TLS
	ClientCertConn = 0x02 // it presented a certificate on this connection
	ClientCertSess = 0x04 // it presented one in this TLS session (maybe resumed)
)

// TLV is one type-length-value entry; Value is at most 65535 bytes.
type TLV struct {
	Type  byte
	Value []byte
}

// appendTLVs appends the wire form of tlvs: type, 16-bit length, value.
func appendTLVs(b []byte, tlvs []TLV) []byte {
	for _, t := range tlvs {
		b = append(b, t.Type)
		b = binary.BigEndian.AppendUint16(b, uint16(len(t.Value)))
		b = append(b, t.Value...)
	}
	return b
}

// SSL builds a TypeSSL TLV: the client bits, the verification result (0
// only when a certificate was presented and verified) and sub-TLVs.
func SSL(client byte, verify uint32, sub ...TLV) TLV {
	v := append([]byte{client}, binary.BigEndian.AppendUint32(nil, verify)...)
	return TLV{Type: TypeSSL, Value: appendTLVs(v, sub)}
}

// tlvSize is the wire size of tlvs.
func tlvSize(tlvs []TLV) int {
	n := 0
	for _, t := range tlvs {
		n += 3 + len(t.Value)
	}
	return n
}
