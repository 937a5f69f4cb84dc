package config

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/pkitest"
	mailtls "mailproxy/tls"
)

// countReads makes every Parse of the test count its TLS file reads in
// reads.
func countReads(t *testing.T, reads map[string]int) {
	old := newTLSLoader
	t.Cleanup(func() { newTLSLoader = old })
	newTLSLoader = func() tlsLoader {
		return &mailtls.Loader{ReadFile: func(path string) ([]byte, error) {
			reads[path]++
			return mailtls.ReadFile(path)
		}}
	}
}

// TestTLSFilesReadOncePerLoad: Parse reads every TLS file once, however
// many servers and checks use it, and builds each TLS server's settings
// from those reads (Server.TLS serves the certificate that was checked);
// a second Parse (a reload) reads every file again.
func TestTLSFilesReadOncePerLoad(t *testing.T) {
	dir := t.TempDir()
	root := pkitest.NewRoot(t, "Config Root")
	one := root.Issue(pkitest.Spec{Server: true, DNSNames: []string{"mail.example"}})
	two := root.Issue(pkitest.Spec{Server: true, DNSNames: []string{"sni.example"}})
	files := map[string]string{
		"CERT": pkitest.Write(t, dir, "one.crt", one.CertPEM), "KEY": pkitest.Write(t, dir, "one.key", one.KeyPEM),
		"SNICRT": pkitest.Write(t, dir, "two.crt", two.CertPEM), "SNIKEY": pkitest.Write(t, dir, "two.key", two.KeyPEM),
		"CA": pkitest.Write(t, dir, "ca.pem", root.PEM()), "CRL": pkitest.Write(t, dir, "crl.pem", root.CRL(time.Time{}, time.Time{})),
		"TICKET": pkitest.Write(t, dir, "ticket.key", bytes.Repeat([]byte{1}, 80)), "PW": pkitest.Write(t, dir, "pw.txt", []byte("x\n")),
	}
	var r []string
	for k, v := range files {
		r = append(r, k, v)
	}
	text := strings.NewReplacer(r...).Replace(y(
		"mail:",
		"  auth_http: 127.0.0.1:9000",
		"  ssl_certificate: CERT",
		"  ssl_certificate_key: KEY",
		"  ssl_password_file: PW",
		"  ssl_session_ticket_key: TICKET",
		"  ssl_verify_client: optional",
		"  ssl_client_certificate: CA",
		"  ssl_trusted_certificate: CA",
		"  ssl_crl: CRL",
		"  sni_certificates:",
		"    - {names: [sni.example], ssl_certificate: [SNICRT, CERT], ssl_certificate_key: [SNIKEY, KEY]}",
		"servers:",
		"  - {listen: [\"993 ssl\"]}",
		"  - {listen: [110], starttls: only}",
		"  - {listen: [25]}",
	))
	reads := map[string]int{}
	countReads(t, reads)
	for load := 1; load <= 2; load++ {
		cfg, err := Parse(filepath.Join(dir, "mailproxy.yaml"), []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		for name, path := range files {
			if reads[path] != load {
				t.Errorf("load %d: %s (%s) read %d times in all", load, name, path, reads[path])
			}
		}
		for i, s := range cfg.Servers[:2] {
			if s.TLS == nil || s.ClientAuth == nil || len(s.TLS.Certificates) != 1 || !s.TLS.Certificates[0].Leaf.Equal(one.Cert) {
				t.Fatalf("load %d: server %d: TLS %+v, ClientAuth %v", load, i, s.TLS, s.ClientAuth)
			}
		}
		if s := cfg.Servers[2]; s.TLS != nil || s.ClientAuth != nil {
			t.Errorf("a server without TLS got TLS settings")
		}
	}
}

// TestTLSValuesWhereWritten: ssl_protocols, ssl_ciphers and
// ssl_ecdh_curve are checked where they are written — at the mail level
// too, whether a server uses TLS or not — and every problem is reported
// in one run.
func TestTLSValuesWhereWritten(t *testing.T) {
	f := newFixtures(t)
	mail := func(tlsServer bool, lines ...string) string {
		out := append([]string{"mail:", "  auth_http: 127.0.0.1:9000"}, lines...)
		out = append(out, "servers:", "  - listen: [143]")
		if tlsServer {
			out = append(out, "    starttls: on", "    ssl_certificate: CERT", "    ssl_certificate_key: KEY")
		}
		return f.sub(y(out...))
	}
	for _, tlsServer := range []bool{false, true} {
		got := problems(t, mail(tlsServer, "  ssl_protocols: [SSLv3, TLSv1.3]", `  ssl_ciphers: "HIGH:FOO"`, "  ssl_ecdh_curve: X448"))
		want := []string{
			"test.yaml:3: ssl_protocols: SSLv3 is not supported",
			`test.yaml:4: ssl_ciphers: "FOO" is not a cipher Go implements`,
			`test.yaml:5: ssl_ecdh_curve: unknown or unsupported curve "X448"`,
		}
		if len(got) != len(want) {
			t.Fatalf("TLS server %v: got %q, want %q", tlsServer, got, want)
		}
		for i := range want {
			if !strings.HasPrefix(got[i], want[i]) {
				t.Errorf("TLS server %v: got %q, want %q…", tlsServer, got[i], want[i])
			}
		}
	}
	got := problems(t, tlsSrv(f, "    ssl_protocols: [TLSv1, TLSv1.2]", "    timeout: soon"))
	if len(got) != 2 || got[0] != "test.yaml:8: ssl_protocols: a list with a gap (TLSv1.1 missing) cannot be honoured" || !strings.HasPrefix(got[1], "test.yaml:9: timeout: ") {
		t.Errorf("server level, with another problem: %q", got)
	}
}
