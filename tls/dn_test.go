package tls

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf16"

	"mailproxy/internal/pkitest"
)

// str is an attribute value of a given universal string tag.
func str(tag int, b []byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassUniversal, Tag: tag, Bytes: b}
}

func utf8s(s string) asn1.RawValue { return str(asn1.TagUTF8String, []byte(s)) }

func oid(s string) asn1.ObjectIdentifier {
	var o asn1.ObjectIdentifier
	for _, p := range strings.Split(s, ".") {
		n := 0
		for _, c := range p {
			n = n*10 + int(c-'0')
		}
		o = append(o, n)
	}
	return o
}

// rawName encodes RDNs (each a list of attributes) as a DER Name.
func rawName(t testing.TB, rdns ...attrSET) []byte {
	t.Helper()
	der, err := asn1.Marshal(rdns)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func a(o string, v asn1.RawValue) attr { return attr{Type: oid(o), Value: v} }

func bmp(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}

func ucs4(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r>>24), byte(r>>16), byte(r>>8), byte(r))
	}
	return b
}

// oracleNames are the names whose formatting is checked against openssl.
// Go's certificate parser refuses the "unknown" one (string types it does
// not implement), so it is only checked as a certificate request.
func oracleNames(t testing.TB) map[string][]byte {
	return map[string][]byte{
		"escaping": rawName(t,
			attrSET{a("2.5.4.6", str(asn1.TagPrintableString, []byte("DE")))},
			attrSET{a("2.5.4.10", utf8s(`Ex, Inc. <x>; "q" a+b \ c=d`))},
			attrSET{a("2.5.4.11", utf8s("#lead and # inner"))},
			attrSET{a("2.5.4.7", utf8s(" both ends "))},
			attrSET{a("2.5.4.3", utf8s("Jürgen Müller ☃ 𝄞"))},
			attrSET{a("1.2.840.113549.1.9.1", str(asn1.TagIA5String, []byte("j@example.org")))},
		),
		"multi-valued": rawName(t,
			attrSET{a("0.9.2342.19200300.100.1.25", str(asn1.TagIA5String, []byte("org")))},
			attrSET{a("0.9.2342.19200300.100.1.25", str(asn1.TagIA5String, []byte("example")))},
			attrSET{a("2.5.4.3", utf8s("alice")), a("0.9.2342.19200300.100.1.1", utf8s("a+1")), a("2.5.4.5", str(asn1.TagPrintableString, []byte("42")))},
			attrSET{a("2.5.4.11", utf8s("mail"))},
		),
		"string-types": rawName(t,
			attrSET{a("2.5.4.3", str(asn1.TagT61String, []byte("caf\xe9")))},
			attrSET{a("2.5.4.10", str(asn1.TagBMPString, bmp("Ωmega ✓")))},
			attrSET{a("2.5.4.7", utf8s("ctl\x01\x1fdel\x7f"))},
			attrSET{a("2.5.4.17", str(asn1.TagNumericString, []byte("12345")))},
			attrSET{a("2.5.4.9", utf8s(""))},
		),
		"unknown": rawName(t,
			attrSET{a("1.2.3.4", utf8s("foo"))},
			attrSET{a("1.3.6.1.4.1.99999.1", str(asn1.TagPrintableString, []byte("x")))},
			attrSET{a("2.5.4.11", str(28, ucs4("uni𝄞")))},
			attrSET{a("2.5.4.45", asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagBitString, Bytes: []byte{0, 0xaa}})},
		),
		"short-names": rawName(t,
			attrSET{a("2.5.4.4", utf8s("Doe"))},
			attrSET{a("2.5.4.42", utf8s("John"))},
			attrSET{a("2.5.4.12", utf8s("Dr"))},
			attrSET{a("2.5.4.13", utf8s("desc"))},
			attrSET{a("2.5.4.15", utf8s("Private Organization"))},
			attrSET{a("2.5.4.16", utf8s("addr"))},
			attrSET{a("2.5.4.18", utf8s("box"))},
			attrSET{a("2.5.4.19", utf8s("office"))},
			attrSET{a("2.5.4.20", str(asn1.TagPrintableString, []byte("+49 1")))},
			attrSET{a("2.5.4.41", utf8s("nm"))},
			attrSET{a("2.5.4.43", utf8s("JD"))},
			attrSET{a("2.5.4.44", utf8s("Jr"))},
			attrSET{a("2.5.4.46", str(asn1.TagPrintableString, []byte("q")))},
			attrSET{a("2.5.4.65", utf8s("pseudo"))},
			attrSET{a("2.5.4.72", utf8s("admin"))},
			attrSET{a("2.5.4.97", utf8s("VATDE-123"))},
			attrSET{a("1.2.840.113549.1.9.2", str(asn1.TagIA5String, []byte("unstr")))},
			attrSET{a("1.2.840.113549.1.9.8", utf8s("unaddr"))},
			attrSET{a("0.9.2342.19200300.100.1.3", str(asn1.TagIA5String, []byte("m@x")))},
			attrSET{a("1.3.6.1.4.1.311.60.2.1.1", utf8s("Town"))},
			attrSET{a("1.3.6.1.4.1.311.60.2.1.2", utf8s("State"))},
			attrSET{a("1.3.6.1.4.1.311.60.2.1.3", str(asn1.TagPrintableString, []byte("DE")))},
		),
	}
}

// TestDNKnownForms pins a few values without needing openssl.
func TestDNKnownForms(t *testing.T) {
	for name, want := range map[string]string{
		"escaping":     `emailAddress=j@example.org,CN=J\C3\BCrgen M\C3\BCller \E2\98\83 \F0\9D\84\9E,L=\ both ends\ ,OU=\#lead and # inner,O=Ex\, Inc. \<x\>\; \"q\" a\+b \\ c=d,C=DE`,
		"multi-valued": `OU=mail,UID=a\+1+CN=alice+serialNumber=42,DC=example,DC=org`,
		"unknown":      `x500UniqueIdentifier=#030200AA,OU=uni\F0\9D\84\9E,1.3.6.1.4.1.99999.1=#130178,1.2.3.4=#0C03666F6F`,
	} {
		if got := DN(oracleNames(t)[name]); got != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

// openssl returns the path of the openssl command, skipping the test
// when it is not installed.
func openssl(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	return p
}

// opensslFields runs openssl with args and returns its "key=value" lines.
func opensslFields(t *testing.T, args ...string) map[string]string {
	t.Helper()
	out, err := exec.Command(openssl(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		fields[k] = v
	}
	return fields
}

// TestDNMatchesOpenSSL uses the openssl command as the oracle: every
// name, put in a certificate request, must print as
// `openssl req -subject -nameopt RFC2253` prints it (XN_FLAG_RFC2253,
// what nginx uses for Auth-SSL-Subject and -Issuer).
func TestDNMatchesOpenSSL(t *testing.T) {
	openssl(t)
	dir := t.TempDir()
	key := pkitest.SelfSigned(t, pkitest.Spec{}).Key
	for name, raw := range oracleNames(t) {
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: raw}, key)
		if err != nil {
			t.Fatal(err)
		}
		path := pkitest.Write(t, dir, name+".csr", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
		want := opensslFields(t, "req", "-in", path, "-noout", "-subject", "-nameopt", "RFC2253")["subject"]
		if got := DN(raw); got != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

// TestCertFactsMatchOpenSSL checks subject, issuer, serial and SHA-1
// fingerprint of certificates against `openssl x509`.
func TestCertFactsMatchOpenSSL(t *testing.T) {
	openssl(t)
	dir := t.TempDir()
	root := pkitest.NewRoot(t, "Test Root")
	issuer := root.Intermediate("Zwischen-CA Ü, \"quoted\"")
	serials := []*big.Int{
		big.NewInt(1),
		new(big.Int).SetBytes([]byte{0x80, 0, 0, 1}),
		new(big.Int).SetBytes(bytes.Repeat([]byte{0xfe}, 20)),
		big.NewInt(0x0abc),
	}
	i := 0
	for name, raw := range oracleNames(t) {
		if name == "unknown" {
			continue
		}
		c := issuer.Issue(pkitest.Spec{RawSubject: raw, Serial: serials[i%len(serials)]})
		i++
		path := pkitest.Write(t, dir, name+".pem", c.CertPEM)
		want := opensslFields(t, "x509", "-in", path, "-noout", "-subject", "-issuer", "-serial", "-fingerprint", "-sha1", "-nameopt", "RFC2253")
		f := Facts(c.Cert)
		fp := strings.ToLower(strings.ReplaceAll(want["sha1 Fingerprint"]+want["SHA1 Fingerprint"], ":", ""))
		if f.Subject != want["subject"] || f.Issuer != want["issuer"] || f.Serial != want["serial"] || f.Fingerprint != fp {
			t.Errorf("%s:\n got subject=%s\n     issuer=%s\n     serial=%s fingerprint=%s\nwant %v", name, f.Subject, f.Issuer, f.Serial, f.Fingerprint, want)
		}
		if f.PEM != string(c.CertPEM) {
			t.Errorf("PEM = %q", f.PEM)
		}
	}
}

func TestSerialForms(t *testing.T) {
	for n, want := range map[int64]string{0: "00", 1: "01", 255: "FF", 256: "0100", -1: "-01", -4096: "-1000"} {
		if got := Serial(big.NewInt(n)); got != want {
			t.Errorf("Serial(%d) = %s, want %s", n, got, want)
		}
	}
	if Serial(nil) != "" {
		t.Error("nil serial")
	}
	if DN([]byte{0x30, 0x01}) != "" {
		t.Error("malformed name formatted")
	}
}
