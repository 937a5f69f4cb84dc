package resolver

import (
	"encoding/binary"
	"errors"
	"strings"
)

// DNS constants this package uses (RFC 1035, RFC 3596).
const (
	typeA     = 1
	typeCNAME = 5
	typePTR   = 12
	typeAAAA  = 28
	classIN   = 1

	flagQR = 1 << 15
	flagTC = 1 << 9
	flagRD = 1 << 8

	rcodeNXDomain = 3

	maxNameLen = 255 // wire length of a name, RFC 1035 §2.3.4
	maxLabel   = 63
)

var (
	errBadName    = errors.New("dns: name cannot be encoded")
	errMalformed  = errors.New("dns: malformed message")
	errNotAnswer  = errors.New("dns: not an answer to the query")
	errTooManyPtr = errors.New("dns: too many compression pointers")
)

// appendName appends name (dotted text, no trailing dot) in wire form.
// Every label must be 1–63 bytes and the whole name at most 255 bytes on
// the wire; the root name "" is not accepted.
func appendName(b []byte, name string) ([]byte, error) {
	if name == "" || len(name)+2 > maxNameLen {
		return nil, errBadName
	}
	for _, l := range strings.Split(name, ".") {
		if len(l) == 0 || len(l) > maxLabel {
			return nil, errBadName
		}
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0), nil
}

// buildQuery returns a standard query (RD set, one question of class IN).
func buildQuery(id uint16, name string, qtype uint16) ([]byte, error) {
	b := make([]byte, 12, 12+len(name)+6)
	binary.BigEndian.PutUint16(b[0:], id)
	binary.BigEndian.PutUint16(b[2:], flagRD)
	binary.BigEndian.PutUint16(b[4:], 1)
	b, err := appendName(b, name)
	if err != nil {
		return nil, err
	}
	b = binary.BigEndian.AppendUint16(b, qtype)
	return binary.BigEndian.AppendUint16(b, classIN), nil
}

// record is one resource record of the answer section.
type record struct {
	typ, class uint16
	ttl        uint32 // seconds
	rdata      []byte
	// target is the decoded domain name of a PTR or CNAME record.
	target string
}

// message is the part of a DNS response this package uses.
type message struct {
	id     uint16
	flags  uint16
	qname  string
	qtype  uint16
	qclass uint16
	answer []record
}

func (m *message) rcode() int      { return int(m.flags & 0x0f) }
func (m *message) truncated() bool { return m.flags&flagTC != 0 }

// matches reports whether m answers the query (id, name, qtype): the
// response bit, the identifier and the question (name compared without
// regard to ASCII case) must all agree.
func (m *message) matches(id uint16, name string, qtype uint16) bool {
	return m.flags&flagQR != 0 && m.id == id && m.qtype == qtype &&
		m.qclass == classIN && strings.EqualFold(m.qname, name)
}

// parseMessage decodes a response: header, the single question, and the
// answer section (authority and additional records are not looked at).
// Names in PTR and CNAME records are decoded, following compression
// pointers; a malformed message is an error, never a panic.
func parseMessage(b []byte) (*message, error) {
	if len(b) < 12 {
		return nil, errMalformed
	}
	m := &message{
		id:    binary.BigEndian.Uint16(b[0:]),
		flags: binary.BigEndian.Uint16(b[2:]),
	}
	qd := binary.BigEndian.Uint16(b[4:])
	an := int(binary.BigEndian.Uint16(b[6:]))
	if qd != 1 {
		return nil, errMalformed
	}
	name, p, err := readName(b, 12)
	if err != nil {
		return nil, err
	}
	if p+4 > len(b) {
		return nil, errMalformed
	}
	m.qname = name
	m.qtype = binary.BigEndian.Uint16(b[p:])
	m.qclass = binary.BigEndian.Uint16(b[p+2:])
	p += 4
	for range an {
		if _, p, err = readName(b, p); err != nil {
			return nil, err
		}
		if p+10 > len(b) {
			return nil, errMalformed
		}
		r := record{
			typ:   binary.BigEndian.Uint16(b[p:]),
			class: binary.BigEndian.Uint16(b[p+2:]),
			ttl:   ttlOf(binary.BigEndian.Uint32(b[p+4:])),
		}
		n := int(binary.BigEndian.Uint16(b[p+8:]))
		p += 10
		if p+n > len(b) {
			return nil, errMalformed
		}
		r.rdata = b[p : p+n]
		if r.typ == typePTR || r.typ == typeCNAME {
			t, end, err := readName(b, p)
			if err != nil {
				return nil, err
			}
			if end != p+n {
				return nil, errMalformed
			}
			r.target = t
		}
		p += n
		m.answer = append(m.answer, r)
	}
	return m, nil
}

// readName decodes the (possibly compressed) name at b[p:] and returns it
// as dotted text without a trailing dot ("" for the root), with the label
// bytes as they are (case kept), and the offset just past the name in
// place.
func readName(b []byte, p int) (string, int, error) {
	var sb strings.Builder
	end := -1 // offset after the name where it started, once a pointer was followed
	wire := 0
	for jumps := 0; ; {
		if p >= len(b) {
			return "", 0, errMalformed
		}
		l := int(b[p])
		switch l & 0xc0 {
		case 0x00:
			if l == 0 {
				if end < 0 {
					end = p + 1
				}
				return sb.String(), end, nil
			}
			if p+1+l > len(b) {
				return "", 0, errMalformed
			}
			wire += 1 + l
			if wire+1 > maxNameLen {
				return "", 0, errMalformed
			}
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			sb.Write(b[p+1 : p+1+l])
			p += 1 + l
		case 0xc0:
			if p+2 > len(b) {
				return "", 0, errMalformed
			}
			if jumps++; jumps > 64 {
				return "", 0, errTooManyPtr
			}
			if end < 0 {
				end = p + 2
			}
			p = int(binary.BigEndian.Uint16(b[p:]) & 0x3fff)
		default:
			return "", 0, errMalformed
		}
	}
}

// ttlOf is a record's TTL: a value with the top bit set is 0 (RFC 2181
// §8).
func ttlOf(v uint32) uint32 {
	if v&(1<<31) != 0 {
		return 0
	}
	return v
}
