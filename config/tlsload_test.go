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

// TestTLSBuildErrors: what only building the TLS settings finds is
// reported at the server's line with the words the server used to say,
// and only when the file has no other problem.
func TestTLSBuildErrors(t *testing.T) {
	f := newFixtures(t)
	got := problems(t, tlsSrv(f, "    ssl_protocols: [SSLv3, TLSv1.2]"))
	if want := "test.yaml:4: ssl_protocols: SSLv3 is not supported"; len(got) != 1 || got[0] != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got = problems(t, tlsSrv(f, "    ssl_protocols: [TLSv1, TLSv1.2]"))
	if want := "test.yaml:4: ssl_protocols: a list with a gap (TLSv1.1 missing) cannot be honoured"; len(got) != 1 || got[0] != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got = problems(t, tlsSrv(f, "    ssl_protocols: [SSLv3, TLSv1.2]", "    timeout: soon"))
	if len(got) != 1 || !strings.HasPrefix(got[0], "test.yaml:9: timeout: ") {
		t.Errorf("with another problem: %q", got)
	}
}
