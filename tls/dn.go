package tls

import (
	"encoding/asn1"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// DN formats a DER-encoded distinguished name (Certificate.RawSubject or
// RawIssuer) as nginx sends Auth-SSL-Subject and Auth-SSL-Issuer:
// OpenSSL's X509_NAME_print_ex with XN_FLAG_RFC2253. That is:
//   - attributes in reverse order of the encoding (the last RDN first,
//     and within a multi-valued RDN the last value first), RDNs joined
//     by ',' and the values of one RDN by '+';
//   - OpenSSL's short names (CN, O, emailAddress, …); an attribute type
//     OpenSSL does not know is written as its dotted OID with the value
//     as '#' and the upper-case hex of its DER encoding;
//   - string values converted to UTF-8 with every byte above 0x7F and
//     every control character written as \XX (upper-case hex), the
//     characters , + " \ < > ; escaped with a backslash, and so are a '#'
//     or ' ' at the start and a ' ' at the end;
//   - values that are not character strings dumped as '#' and hex.
//
// A name that does not parse gives "".
func DN(raw []byte) string {
	var rdns []attrSET
	if rest, err := asn1.Unmarshal(raw, &rdns); err != nil || len(rest) != 0 {
		return ""
	}
	type entry struct {
		set int
		attr
	}
	var flat []entry
	for i, rdn := range rdns {
		for _, a := range rdn {
			flat = append(flat, entry{i, a})
		}
	}
	var b strings.Builder
	for i := len(flat) - 1; i >= 0; i-- {
		e := flat[i]
		if i < len(flat)-1 {
			if e.set == flat[i+1].set {
				b.WriteByte('+')
			} else {
				b.WriteByte(',')
			}
		}
		name, known := attrShortNames[e.Type.String()]
		if !known {
			b.WriteString(e.Type.String())
			b.WriteByte('=')
			dumpValue(&b, e.Value)
			continue
		}
		b.WriteString(name)
		b.WriteByte('=')
		writeValue(&b, e.Value)
	}
	return b.String()
}

// attr is one AttributeTypeAndValue; attrSET is a multi-valued RDN (the
// name ending in SET makes encoding/asn1 read a SET OF).
type attr struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

type attrSET []attr

// charWidth is OpenSSL's tag2nbyte for universal string types: bytes per
// character (0: UTF-8). Types not listed are dumped as hex.
var charWidth = map[int]int{
	asn1.TagUTF8String:      0,
	asn1.TagNumericString:   1,
	asn1.TagPrintableString: 1,
	asn1.TagT61String:       1,
	asn1.TagIA5String:       1,
	asn1.TagUTCTime:         1,
	asn1.TagGeneralizedTime: 1,
	26:                      1, // VisibleString (ISO646String)
	28:                      4, // UniversalString
	asn1.TagBMPString:       2,
}

// writeValue writes a string value with RFC 2253 escaping.
func writeValue(b *strings.Builder, v asn1.RawValue) {
	runes, ok := decodeString(v)
	if !ok {
		dumpValue(b, v)
		return
	}
	for i, r := range runes {
		if r > 0x7f {
			var buf [utf8.UTFMax]byte
			n := utf8.EncodeRune(buf[:], r)
			for _, c := range buf[:n] {
				writeHexEscape(b, c)
			}
			continue
		}
		c := byte(r)
		switch {
		case strings.IndexByte(",+\"\\<>;", c) >= 0,
			c == '#' && i == 0,
			c == ' ' && (i == 0 || i == len(runes)-1):
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			writeHexEscape(b, c)
		default:
			b.WriteByte(c)
		}
	}
}

// decodeString returns the characters of a universal string value, or
// false for other types and malformed strings.
func decodeString(v asn1.RawValue) ([]rune, bool) {
	width, ok := charWidth[v.Tag]
	if v.Class != asn1.ClassUniversal || v.IsCompound || !ok {
		return nil, false
	}
	data := v.Bytes
	var out []rune
	switch width {
	case 0:
		if !utf8.Valid(data) {
			return nil, false
		}
		return []rune(string(data)), true
	case 1:
		for _, c := range data {
			out = append(out, rune(c))
		}
	default:
		if len(data)%width != 0 {
			return nil, false
		}
		for i := 0; i < len(data); i += width {
			var r rune
			for _, c := range data[i : i+width] {
				r = r<<8 | rune(c)
			}
			if !utf8.ValidRune(r) {
				return nil, false
			}
			out = append(out, r)
		}
	}
	return out, true
}

// dumpValue writes '#' and the upper-case hex of the value's DER.
func dumpValue(b *strings.Builder, v asn1.RawValue) {
	b.WriteByte('#')
	b.WriteString(strings.ToUpper(hex.EncodeToString(v.FullBytes)))
}

func writeHexEscape(b *strings.Builder, c byte) {
	const digits = "0123456789ABCDEF"
	b.WriteByte('\\')
	b.WriteByte(digits[c>>4])
	b.WriteByte(digits[c&15])
}

// attrShortNames are OpenSSL's short names (OBJ_nid2sn) of the attribute
// types found in certificate names.
var attrShortNames = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.4":                    "SN",
	"2.5.4.5":                    "serialNumber",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "street",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.12":                   "title",
	"2.5.4.13":                   "description",
	"2.5.4.15":                   "businessCategory",
	"2.5.4.16":                   "postalAddress",
	"2.5.4.17":                   "postalCode",
	"2.5.4.18":                   "postOfficeBox",
	"2.5.4.19":                   "physicalDeliveryOfficeName",
	"2.5.4.20":                   "telephoneNumber",
	"2.5.4.41":                   "name",
	"2.5.4.42":                   "GN",
	"2.5.4.43":                   "initials",
	"2.5.4.44":                   "generationQualifier",
	"2.5.4.45":                   "x500UniqueIdentifier",
	"2.5.4.46":                   "dnQualifier",
	"2.5.4.65":                   "pseudonym",
	"2.5.4.72":                   "role",
	"2.5.4.97":                   "organizationIdentifier",
	"1.2.840.113549.1.9.1":       "emailAddress",
	"1.2.840.113549.1.9.2":       "unstructuredName",
	"1.2.840.113549.1.9.8":       "unstructuredAddress",
	"0.9.2342.19200300.100.1.1":  "UID",
	"0.9.2342.19200300.100.1.3":  "mail",
	"0.9.2342.19200300.100.1.25": "DC",
	"1.3.6.1.4.1.311.60.2.1.1":   "jurisdictionL",
	"1.3.6.1.4.1.311.60.2.1.2":   "jurisdictionST",
	"1.3.6.1.4.1.311.60.2.1.3":   "jurisdictionC",
}
