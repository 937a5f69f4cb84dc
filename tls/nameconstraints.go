package tls

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"sort"
	"strings"
)

// Name constraints (RFC 5280 §4.2.1.10) as OpenSSL 3.0 enforces them for
// nginx (check_name_constraints and v3_ncons.c): after the signatures and
// validity periods, every certificate of the chain but a self-issued
// intermediate is checked against the constraints of each certificate
// above it, the trust anchor included. Its names are the subject (as a
// directoryName), the subject's emailAddress attributes, every subject
// alternative name and, for the leaf without a DNS name, a common name
// that looks like a host name. For each name, the permitted subtrees of
// its type, if any, must hold one that matches, and no excluded subtree
// of its type may match. Each pair that fails reports one error, so the
// last one reported is the result.

// GeneralName choices (context-specific tags).
const (
	gnOther = 0
	gnEmail = 1
	gnDNS   = 2
	gnDir   = 4
	gnURI   = 6
	gnIP    = 7
)

// generalName is a name of a certificate or the base of a subtree. value
// is the content: the string of an email, DNS name or URI, the address
// (and mask) bytes of an IP, the canonical encoding of a directoryName;
// for an otherName, oid is its type and value the DER of its value.
type generalName struct {
	tag   int
	oid   asn1.ObjectIdentifier
	value []byte
}

// subtree is one GeneralSubtree: its base, and whether it carries a
// minimum other than 0 or a maximum, which OpenSSL does not support.
type subtree struct {
	base   generalName
	minmax bool
}

// nameConstraints is a certificate's NameConstraints extension.
type nameConstraints struct {
	permitted, excluded []subtree
}

var (
	oidNameConstraints = asn1.ObjectIdentifier{2, 5, 29, 30}
	oidSubjectAltName  = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidEmailAddress    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	oidCommonName      = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidSmtpUTF8Mailbox = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 8, 9}
)

// nameCheckMax is OpenSSL's NAME_CHECK_MAX: names × constraints above it
// are refused (X509_V_ERR_UNSPECIFIED) rather than compared.
const nameCheckMax = 1 << 20

// checkNameConstraints reports, for each pair of a certificate and a
// constraining certificate above it, the first violation (OpenSSL's
// loops: from the top of the chain down, and for each certificate the
// constraining ones from the top down).
func checkNameConstraints(chain []*x509.Certificate, report func(int)) {
	ncs := make([]*nameConstraints, len(chain))
	constrained := false
	for j, c := range chain {
		ncs[j] = parseNameConstraints(c)
		constrained = constrained || ncs[j] != nil
	}
	if !constrained {
		return
	}
	for i := len(chain) - 1; i >= 0; i-- {
		x := chain[i]
		if i != 0 && bytes.Equal(x.RawSubject, x.RawIssuer) {
			continue // self-issued: not checked unless it is the leaf
		}
		for j := len(chain) - 1; j > i; j-- {
			if ncs[j] == nil {
				continue
			}
			rv := ncs[j].check(x)
			if rv == VerifyOK && i == 0 && !hasDNSName(x) {
				rv = ncs[j].checkCN(x)
			}
			if rv != VerifyOK {
				report(rv)
			}
		}
	}
}

// parseNameConstraints returns c's name constraints, nil when it has
// none (or none Go could parse the certificate with).
func parseNameConstraints(c *x509.Certificate) *nameConstraints {
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidNameConstraints) {
			continue
		}
		var seq asn1.RawValue
		if rest, err := asn1.Unmarshal(e.Value, &seq); err != nil || len(rest) != 0 || seq.Tag != asn1.TagSequence {
			return nil
		}
		nc := &nameConstraints{}
		for b := seq.Bytes; len(b) > 0; {
			var part asn1.RawValue
			var err error
			if b, err = asn1.Unmarshal(b, &part); err != nil || part.Class != asn1.ClassContextSpecific {
				return nil
			}
			trees, ok := parseSubtrees(part.Bytes)
			if !ok {
				return nil
			}
			switch part.Tag {
			case 0:
				nc.permitted = trees
			case 1:
				nc.excluded = trees
			}
		}
		return nc
	}
	return nil
}

// parseSubtrees reads the GeneralSubtree items of GeneralSubtrees.
func parseSubtrees(b []byte) ([]subtree, bool) {
	var out []subtree
	for len(b) > 0 {
		var seq asn1.RawValue
		var err error
		if b, err = asn1.Unmarshal(b, &seq); err != nil || seq.Tag != asn1.TagSequence {
			return nil, false
		}
		var gn asn1.RawValue
		rest, err := asn1.Unmarshal(seq.Bytes, &gn)
		if err != nil {
			return nil, false
		}
		base, ok := parseGeneralName(gn)
		if !ok {
			return nil, false
		}
		st := subtree{base: base}
		for len(rest) > 0 {
			var f asn1.RawValue
			if rest, err = asn1.Unmarshal(rest, &f); err != nil || f.Class != asn1.ClassContextSpecific {
				return nil, false
			}
			switch {
			case f.Tag == 1: // maximum
				st.minmax = true
			case f.Tag == 0 && len(bytes.TrimLeft(f.Bytes, "\x00")) > 0: // minimum other than 0
				st.minmax = true
			}
		}
		out = append(out, st)
	}
	return out, true
}

// parseGeneralName reads one GeneralName.
func parseGeneralName(v asn1.RawValue) (generalName, bool) {
	if v.Class != asn1.ClassContextSpecific {
		return generalName{}, false
	}
	g := generalName{tag: v.Tag, value: v.Bytes}
	switch v.Tag {
	case gnOther:
		var oid asn1.ObjectIdentifier
		rest, err := asn1.Unmarshal(v.Bytes, &oid)
		if err != nil {
			return generalName{}, false
		}
		var val asn1.RawValue // [0] EXPLICIT
		if _, err := asn1.Unmarshal(rest, &val); err != nil {
			return generalName{}, false
		}
		g.oid, g.value = oid, val.Bytes
	case gnDir:
		var name asn1.RawValue
		if _, err := asn1.Unmarshal(v.Bytes, &name); err != nil {
			return generalName{}, false
		}
		canon, ok := canonicalName(name.FullBytes)
		if !ok {
			return generalName{}, false
		}
		g.value = canon
	}
	return g, true
}

// certNames returns the subject alternative names of c, in order.
func certNames(c *x509.Certificate) []generalName {
	var out []generalName
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidSubjectAltName) {
			continue
		}
		var seq asn1.RawValue
		if _, err := asn1.Unmarshal(e.Value, &seq); err != nil {
			return nil
		}
		for b := seq.Bytes; len(b) > 0; {
			var v asn1.RawValue
			var err error
			if b, err = asn1.Unmarshal(b, &v); err != nil {
				return out
			}
			if g, ok := parseGeneralName(v); ok {
				out = append(out, g)
			}
		}
	}
	return out
}

func hasDNSName(c *x509.Certificate) bool {
	for _, g := range certNames(c) {
		if g.tag == gnDNS {
			return true
		}
	}
	return false
}

// check is NAME_CONSTRAINTS_check: the subject, its email addresses and
// the alternative names of x against nc.
func (nc *nameConstraints) check(x *x509.Certificate) int {
	var rdns []attrSET
	if rest, err := asn1.Unmarshal(x.RawSubject, &rdns); err != nil || len(rest) != 0 {
		return errUnspecified
	}
	entries := 0
	for _, rdn := range rdns {
		entries += len(rdn)
	}
	sans := certNames(x)
	names, constraints := entries+len(sans), len(nc.permitted)+len(nc.excluded)
	if names > 0 && constraints > nameCheckMax/names {
		return errUnspecified
	}
	if entries > 0 {
		canon, ok := canonicalName(x.RawSubject)
		if !ok {
			return errUnspecified
		}
		if r := nc.match(generalName{tag: gnDir, value: canon}); r != VerifyOK {
			return r
		}
		for _, rdn := range rdns {
			for _, a := range rdn {
				if !a.Type.Equal(oidEmailAddress) {
					continue
				}
				if a.Value.Class != asn1.ClassUniversal || a.Value.Tag != asn1.TagIA5String {
					return errUnsupportedNameSyntax
				}
				if r := nc.match(generalName{tag: gnEmail, value: a.Value.Bytes}); r != VerifyOK {
					return r
				}
			}
		}
	}
	for _, g := range sans {
		if r := nc.match(g); r != VerifyOK {
			return r
		}
	}
	return VerifyOK
}

// checkCN is NAME_CONSTRAINTS_check_CN: every common name that looks like
// a host name of two labels or more is checked as a DNS name.
func (nc *nameConstraints) checkCN(x *x509.Certificate) int {
	var rdns []attrSET
	if _, err := asn1.Unmarshal(x.RawSubject, &rdns); err != nil {
		return VerifyOK
	}
	for _, rdn := range rdns {
		for _, a := range rdn {
			if !a.Type.Equal(oidCommonName) {
				continue
			}
			runes, ok := decodeString(a.Value)
			if !ok {
				continue
			}
			cn := strings.TrimRight(string(runes), "\x00")
			if strings.IndexByte(cn, 0) >= 0 {
				return errUnsupportedNameSyntax
			}
			if !looksLikeHostName(cn) {
				continue
			}
			if r := nc.match(generalName{tag: gnDNS, value: []byte(cn)}); r != VerifyOK {
				return r
			}
		}
	}
	return VerifyOK
}

// looksLikeHostName is OpenSSL's cn2dnsid test: letters, digits, '_',
// inner '-' and inner dots not next to another dot or a hyphen, and at
// least one dot.
func looksLikeHostName(s string) bool {
	dns := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
			continue
		case i > 0 && i < len(s)-1 && c == '-':
			continue
		case i > 0 && i < len(s)-1 && c == '.' && s[i+1] != '.' && s[i-1] != '-' && s[i+1] != '-':
			dns = true
			continue
		}
		return false
	}
	return dns
}

// match is OpenSSL's nc_match for one name.
func (nc *nameConstraints) match(g generalName) int {
	typ := g.tag
	if typ == gnOther && g.oid.Equal(oidSmtpUTF8Mailbox) {
		typ = gnEmail
	}
	applies := func(st subtree) bool {
		return st.base.tag == typ && (typ != gnOther || st.base.oid.Equal(g.oid))
	}
	state := 0 // 0: no permitted subtree of the type, 1: none matched, 2: one matched
	for _, st := range nc.permitted {
		if !applies(st) {
			continue
		}
		if st.minmax {
			return errSubtreeMinMax
		}
		if state == 2 {
			continue
		}
		state = 1
		switch r := matchSingle(typ, g, st.base); r {
		case VerifyOK:
			state = 2
		case errPermittedViolation:
		default:
			return r
		}
	}
	if state == 1 {
		return errPermittedViolation
	}
	for _, st := range nc.excluded {
		if !applies(st) {
			continue
		}
		if st.minmax {
			return errSubtreeMinMax
		}
		switch r := matchSingle(typ, g, st.base); r {
		case VerifyOK:
			return errExcludedViolation
		case errPermittedViolation:
		default:
			return r
		}
	}
	return VerifyOK
}

// matchSingle is nc_match_single: VerifyOK when g is within base,
// errPermittedViolation when it is not, another code when they cannot
// be compared.
func matchSingle(typ int, g, base generalName) int {
	switch g.tag {
	case gnOther:
		if typ == gnEmail {
			return matchEmailEAI(g.value, base.value)
		}
		return errUnsupportedConstraintType
	case gnDir:
		if len(base.value) > len(g.value) || !bytes.Equal(base.value, g.value[:len(base.value)]) {
			return errPermittedViolation
		}
		return VerifyOK
	case gnDNS:
		return matchDNS(g.value, base.value)
	case gnEmail:
		return matchEmail(g.value, base.value)
	case gnURI:
		return matchURI(g.value, base.value)
	case gnIP:
		return matchIP(g.value, base.value)
	}
	return errUnsupportedConstraintType
}

// matchDNS is nc_dns: an empty base matches everything; otherwise the
// name ends with the base, as whole labels unless the base starts with
// a dot.
func matchDNS(dns, base []byte) int {
	if len(base) == 0 {
		return VerifyOK
	}
	if len(dns) < len(base) {
		return errPermittedViolation
	}
	tail := dns[len(dns)-len(base):]
	if len(dns) > len(base) && base[0] != '.' && dns[len(dns)-len(base)-1] != '.' {
		return errPermittedViolation
	}
	if !equalFoldASCII(base, tail) {
		return errPermittedViolation
	}
	return VerifyOK
}

// matchEmail is nc_email: a base starting with '.' matches the end of
// the address; a base with a local part must match it exactly (case
// matters) and the host without regard to case; a host alone matches
// the address's host.
func matchEmail(eml, base []byte) int {
	emlAt := bytes.LastIndexByte(eml, '@')
	if emlAt < 0 {
		return errUnsupportedNameSyntax
	}
	baseAt := bytes.LastIndexByte(base, '@')
	if baseAt < 0 && len(base) > 0 && base[0] == '.' {
		if len(eml) > len(base) && equalFoldASCII(base, eml[len(eml)-len(base):]) {
			return VerifyOK
		}
		return errPermittedViolation
	}
	host := base
	if baseAt >= 0 {
		if baseAt > 0 {
			if baseAt != emlAt {
				return errPermittedViolation
			}
			if bytes.IndexByte(base[:baseAt], 0) >= 0 || bytes.IndexByte(eml[:emlAt], 0) >= 0 {
				return errUnsupportedNameSyntax
			}
			if !bytes.Equal(base[:baseAt], eml[:emlAt]) {
				return errPermittedViolation
			}
		}
		host = base[baseAt+1:]
	}
	if !equalFoldASCII(host, eml[emlAt+1:]) {
		return errPermittedViolation
	}
	return VerifyOK
}

// matchEmailEAI is nc_email_eai: an SmtpUTF8Mailbox (a UTF8String)
// against an rfc822Name base whose host is compared in its Unicode form.
func matchEmailEAI(der, base []byte) int {
	if bytes.IndexByte(base, 0) >= 0 {
		return errUnsupportedNameSyntax
	}
	var v asn1.RawValue
	if _, err := asn1.Unmarshal(der, &v); err != nil || v.Class != asn1.ClassUniversal || v.Tag != asn1.TagUTF8String {
		return errUnsupportedNameSyntax
	}
	eml := v.Bytes
	emlAt := bytes.LastIndexByte(eml, '@')
	if emlAt < 0 {
		return errUnsupportedNameSyntax
	}
	if len(base) > 0 && base[0] == '.' {
		u, ok := aToULabel(string(base[1:]))
		if !ok {
			return errUnspecified
		}
		u = "." + u
		if len(eml) > len(u) && equalFoldASCII([]byte(u), eml[len(eml)-len(u):]) {
			return VerifyOK
		}
		return errPermittedViolation
	}
	host := base
	if at := bytes.IndexByte(base, '@'); at >= 0 {
		if at > 0 && (at != emlAt || !bytes.Equal(base[:at], eml[:emlAt])) {
			return errPermittedViolation
		}
		host = base[at+1:]
	}
	u, ok := aToULabel(string(host))
	if !ok {
		return errUnspecified
	}
	if !equalFoldASCII([]byte(u), eml[emlAt+1:]) {
		return errPermittedViolation
	}
	return VerifyOK
}

// matchURI is nc_uri: the host of a "scheme://host[:port][/…]" URI
// against a host name, or the end of it for a base starting with '.'.
func matchURI(uri, base []byte) int {
	colon := bytes.IndexByte(uri, ':')
	if colon < 0 || len(uri)-colon < 3 || uri[colon+1] != '/' || uri[colon+2] != '/' {
		return errUnsupportedNameSyntax
	}
	host := uri[colon+3:]
	if i := bytes.IndexByte(host, ':'); i >= 0 {
		host = host[:i]
	} else if i := bytes.IndexByte(host, '/'); i >= 0 {
		host = host[:i]
	}
	if len(host) == 0 {
		return errUnsupportedNameSyntax
	}
	if len(base) > 0 && base[0] == '.' {
		if len(host) > len(base) && equalFoldASCII(host[len(host)-len(base):], base) {
			return VerifyOK
		}
		return errPermittedViolation
	}
	if !equalFoldASCII(host, base) {
		return errPermittedViolation
	}
	return VerifyOK
}

// matchIP is nc_ip: an IPv4 or IPv6 address within an address and mask
// of the same family.
func matchIP(ip, base []byte) int {
	if len(ip) != 4 && len(ip) != 16 {
		return errUnsupportedNameSyntax
	}
	if len(base) != 8 && len(base) != 32 {
		return errUnsupportedNameSyntax
	}
	if 2*len(ip) != len(base) {
		return errPermittedViolation
	}
	mask := base[len(ip):]
	for i := range ip {
		if ip[i]&mask[i] != base[i]&mask[i] {
			return errPermittedViolation
		}
	}
	return VerifyOK
}

// equalFoldASCII compares two byte strings of the same length, ASCII
// letters without regard to case (OpenSSL's ia5ncasecmp).
func equalFoldASCII(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// canonicalStrings are the string types OpenSSL canonicalises in a name
// (ASN1_MASK_CANON); values of other types are compared as they are.
var canonicalStrings = map[int]bool{
	asn1.TagUTF8String: true, asn1.TagBMPString: true, 28: true, // UniversalString
	asn1.TagPrintableString: true, asn1.TagT61String: true, asn1.TagIA5String: true, 26: true, // VisibleString
}

// canonicalName is OpenSSL's canonical encoding of a DER name
// (x509_name_canon): each RDN as a SET of (type, value) with string
// values as UTF8Strings, lower-cased (ASCII), leading and trailing white
// space dropped and inner runs of it made one space, the RDNs
// concatenated without the outer SEQUENCE. An empty name gives nothing.
func canonicalName(der []byte) ([]byte, bool) {
	var rdns []attrSET
	if rest, err := asn1.Unmarshal(der, &rdns); err != nil || len(rest) != 0 {
		return nil, false
	}
	var out []byte
	for _, rdn := range rdns {
		var items [][]byte
		for _, a := range rdn {
			oid, err := asn1.Marshal(a.Type)
			if err != nil {
				return nil, false
			}
			val := a.Value.FullBytes
			if a.Value.Class == asn1.ClassUniversal && !a.Value.IsCompound && canonicalStrings[a.Value.Tag] {
				runes, ok := decodeString(a.Value)
				if !ok {
					return nil, false
				}
				val = derTLV(asn1.TagUTF8String, canonicalText(string(runes)))
			}
			items = append(items, derTLV(asn1.TagSequence|0x20, append(oid, val...)))
		}
		// DER orders the members of a SET OF by their encodings.
		sort.SliceStable(items, func(i, j int) bool {
			if c := bytes.Compare(items[i][:min(len(items[i]), len(items[j]))], items[j][:min(len(items[i]), len(items[j]))]); c != 0 {
				return c < 0
			}
			return len(items[i]) < len(items[j])
		})
		out = append(out, derTLV(asn1.TagSet|0x20, bytes.Join(items, nil))...)
	}
	return out, true
}

// canonicalText is asn1_string_canon on a UTF-8 value.
func canonicalText(s string) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' }
	b := []byte(s)
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c >= 0x80:
			out = append(out, c)
			i++
		case isSpace(c):
			out = append(out, ' ')
			for i < len(b) && isSpace(b[i]) {
				i++
			}
		default:
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			out = append(out, c)
			i++
		}
	}
	return out
}

// derTLV encodes one DER element with the given identifier octet.
func derTLV(tag int, content []byte) []byte {
	out := []byte{byte(tag)}
	n := len(content)
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	case n < 0x10000:
		out = append(out, 0x82, byte(n>>8), byte(n))
	default:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, content...)
}
