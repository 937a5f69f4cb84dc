package tls

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
	"unicode/utf8"
)

// FuzzDN: DN formats names from client certificates; whatever the bytes,
// it must not panic, and what it returns is valid UTF-8 without control
// characters (it ends up in an auth request header).
func FuzzDN(f *testing.F) {
	for _, raw := range oracleNames(f) {
		f.Add(raw)
	}
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		s := DN(raw)
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8: %q", s)
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] == 0x7f || s[i] >= 0x80 {
				t.Fatalf("unescaped byte %#x in %q", s[i], s)
			}
		}
	})
}

// FuzzNameConstraints: a client's chain carries the name constraints
// and the names they are checked against; whatever their bytes, the
// check must not panic and must give OK or one of the name-constraint
// codes OpenSSL reports.
func FuzzNameConstraints(f *testing.F) {
	dept := []byte("dept.example.com")
	f.Add(der(0x30, der(0xa0, der(0x30, der(0x82, dept)))), der(0x30, der(0x82, []byte("a.corp.example.com"))), []byte{0x30, 0x00})
	f.Add(der(0x30, der(0xa1, der(0x30, der(0x81, dept)))), der(0x30, der(0x81, []byte("x@dept.example.com"))), []byte{0x30, 0x00})
	f.Add(der(0x30, der(0xa0, der(0x30, der(0x87, []byte{192, 0, 2, 0, 255, 255, 255, 0})))), der(0x30, der(0x87, []byte{192, 0, 2, 1})), []byte{0x30, 0x00})
	f.Add(der(0x30, der(0xa0, der(0x30, der(0x86, []byte(".example.com"))))), der(0x30, der(0x86, []byte("https://a.example.com:1/"))), []byte{0x30, 0x00})
	f.Add(der(0x30, der(0xa0, der(0x30, der(0xa4, der(0x30))))), der(0x30, der(0xa0, der(0x06, oidBody(oidSmtpUTF8Mailbox)), der(0xa0, der(0x0c, []byte("ü@xn--mnchen-3ya.example"))))), der(0x30, der(0x31, der(0x30, der(0x06, []byte{85, 4, 3}), der(0x0c, []byte("a.b.example"))))))
	f.Fuzz(func(t *testing.T, constraints, sans, subject []byte) {
		ca := &x509.Certificate{RawSubject: []byte("ca"), RawIssuer: []byte("ca"), Extensions: []pkix.Extension{{Id: oidNameConstraints, Value: constraints}}}
		leaf := &x509.Certificate{RawSubject: subject, RawIssuer: []byte("ca"), Extensions: []pkix.Extension{{Id: oidSubjectAltName, Value: sans}}}
		checkNameConstraints([]*x509.Certificate{leaf, ca}, func(code int) {
			switch code {
			case errUnspecified, errPermittedViolation, errExcludedViolation, errSubtreeMinMax,
				errUnsupportedConstraintType, errUnsupportedConstraintSyntax, errUnsupportedNameSyntax:
			default:
				t.Fatalf("code %d", code)
			}
		})
	})
}

// oidBody is the DER content of an OID.
func oidBody(oid asn1.ObjectIdentifier) []byte {
	b, _ := asn1.Marshal(oid)
	return b[2:]
}
