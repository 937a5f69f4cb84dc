package config

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// tlsSrv is a STARTTLS server with the fixtures' certificate; the extra
// lines start at line 8.
func tlsSrv(f *fixtures, lines ...string) string {
	return f.sub(y(append([]string{"mail:", "  auth_http: 127.0.0.1:9000", "servers:", "  - listen: [143]",
		"    starttls: on", "    ssl_certificate: CERT", "    ssl_certificate_key: KEY"}, lines...)...))
}

// encryptKey rewrites the fixture key file as a legacy encrypted PEM.
func encryptKey(t *testing.T, keyFile, password string) string {
	t.Helper()
	data, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	//lint:ignore SA1019 a legacy encrypted key is what is tested
	enc, err := x509.EncryptPEMBlock(rand.Reader, "PRIVATE KEY", b.Bytes, []byte(password), x509.PEMCipherAES128) //nolint:staticcheck
	if err != nil {
		t.Fatal(err)
	}
	out := keyFile + ".enc"
	if err := os.WriteFile(out, pem.EncodeToMemory(enc), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEncryptedKeys: an encrypted key loads at validation time with the
// password file, and is refused without it.
func TestEncryptedKeys(t *testing.T) {
	f := newFixtures(t)
	enc := encryptKey(t, f.m["KEY"], "second")
	pw := filepath.Join(f.dir, "pw.txt")
	if err := os.WriteFile(pw, []byte("first\nsecond\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(tlsSrv(f, "    ssl_password_file: "+pw), "ssl_certificate_key: "+f.m["KEY"], "ssl_certificate_key: "+enc, 1)
	if cfg := mustParse(t, text); cfg.Servers[0].SSLPasswordFile != pw {
		t.Fatalf("password file %q", cfg.Servers[0].SSLPasswordFile)
	}
	got := problems(t, strings.Replace(tlsSrv(f), "ssl_certificate_key: "+f.m["KEY"], "ssl_certificate_key: "+enc, 1))
	if len(got) != 1 || !strings.Contains(got[0], "test.yaml:6: ssl_certificate: cannot load") || !strings.Contains(got[0], "no ssl_password_file") {
		t.Fatalf("without passwords: %q", got)
	}
	got = problems(t, tlsSrv(f, "    ssl_password_file: "+f.m["MISSING"]))
	if len(got) != 1 || !strings.HasPrefix(got[0], "test.yaml:8: ssl_password_file: ") {
		t.Fatalf("missing password file: %q", got)
	}
}

func TestSNICertificatesKey(t *testing.T) {
	f := newFixtures(t)
	cfg, err := Parse(filepath.Join(f.dir, "test.yaml"), []byte(tlsSrv(f,
		"    proxy_protocol_tlvs: on",
		"    sni_certificates:",
		"      - names: [Mail.Example.org, \"*.example.net\"]",
		"        ssl_certificate: [CERT, CERT2]",
		"        ssl_certificate_key: [KEY, KEY2]",
		"      - {names: imap.example.com, ssl_certificate: two.crt, ssl_certificate_key: two.key}",
	)))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Servers[0]
	want := []SNICertificate{
		{Names: []string{"mail.example.org", "*.example.net"}, SSLCertificate: []string{f.m["CERT"], f.m["CERT2"]}, SSLCertificateKey: []string{f.m["KEY"], f.m["KEY2"]}, Line: 10},
		{Names: []string{"imap.example.com"}, SSLCertificate: []string{f.m["CERT2"]}, SSLCertificateKey: []string{f.m["KEY2"]}, Line: 13},
	}
	if !s.ProxyProtocolTLVs || !reflect.DeepEqual(s.SNICertificates, want) {
		t.Fatalf("got %+v", s.SNICertificates)
	}
}

func TestSNICertificatesErrors(t *testing.T) {
	f := newFixtures(t)
	for lines, want := range map[string]string{
		"      - {names: [a.example, A.example], ssl_certificate: CERT, ssl_certificate_key: KEY}": `test.yaml:9: sni_certificates: server name "A.example" is already given at line 9`,
		"      - {names: [a..b], ssl_certificate: CERT, ssl_certificate_key: KEY}":                 `test.yaml:9: sni_certificates: invalid server name "a..b"`,
		"      - {names: [a.b], ssl_certificate: [CERT, CERT2], ssl_certificate_key: KEY}":         `test.yaml:9: sni_certificates: each ssl_certificate needs one ssl_certificate_key`,
		"      - {names: [a.b], ssl_certificate: CERT, ssl_certificate_key: KEY, color: red}":      `test.yaml:9: sni_certificates: unknown key "color"`,
		"      - {ssl_certificate: CERT, ssl_certificate_key: KEY}":                                `test.yaml:9: sni_certificates: an entry needs names and ssl_certificate`,
		"      - {names: [a.b], ssl_certificate: GARBAGE, ssl_certificate_key: KEY}":               `test.yaml:9: sni_certificates: cannot load certificate`,
		"      - just-a-string": `test.yaml:9: sni_certificates: each entry must be a map`,
	} {
		got := problems(t, tlsSrv(f, "    sni_certificates:", f.sub(lines)))
		if len(got) != 1 || !strings.HasPrefix(got[0], f.sub(want)) {
			t.Errorf("%s:\n got %q\nwant %s", lines, got, f.sub(want))
		}
	}
}

// TestTLSFilesChecked: what the server would fail to load is a
// configuration error with the key's line, for servers that use TLS.
func TestTLSFilesChecked(t *testing.T) {
	f := newFixtures(t)
	short := filepath.Join(f.dir, "short.key")
	if err := os.WriteFile(short, make([]byte, 47), 0o600); err != nil {
		t.Fatal(err)
	}
	for lines, want := range map[string]string{
		"    ssl_ecdh_curve: X25519:X448":                                   `test.yaml:8: ssl_ecdh_curve: unknown or unsupported curve "X448"`,
		"    ssl_session_ticket_key: " + short:                              `test.yaml:8: ssl_session_ticket_key: "` + short + `" must be 48 or 80 bytes, not 47`,
		"    ssl_verify_client: on\n    ssl_client_certificate: MISSING":    `test.yaml:9: ssl_client_certificate: `,
		"    ssl_verify_client: optional\n    ssl_trusted_certificate: KEY": `test.yaml:9: ssl_trusted_certificate: ` + f.m["KEY"] + `: no PEM certificate found`,
		"    ssl_crl: CERT": `test.yaml:8: ssl_crl: ` + f.m["CERT"] + `: no PEM CRL`,
		"    ssl_verify_client: optional_no_ca\n    ssl_client_certificate: GARBAGE": `test.yaml:9: ssl_client_certificate: `,
	} {
		got := problems(t, tlsSrv(f, f.sub(lines)))
		if len(got) != 1 || !strings.HasPrefix(got[0], want) {
			t.Errorf("%s:\n got %q\nwant %s…", lines, got, want)
		}
	}
	// Without TLS no file is loaded, as with nginx; values are checked
	// (TestTLSValuesWhereWritten).
	mustParse(t, srv("    ssl_ecdh_curve: X25519", "    ssl_crl: /nonexistent"))
	// With ssl_verify_client off, the CA files are not read.
	mustParse(t, tlsSrv(f, "    ssl_client_certificate: MISSING"))
}
