package tls

import (
	"bytes"
	"os"
	"testing"
	"time"

	"mailproxy/internal/pkitest"
)

// countingLoader returns a Loader that counts its reads per path.
func countingLoader(reads map[string]int) *Loader {
	return &Loader{ReadFile: func(path string) ([]byte, error) {
		reads[path]++
		return ReadFile(path)
	}}
}

// TestLoaderReadsEachFileOnce: checks of single files followed by the
// build of two servers' settings that name the same files read each
// file once, and the servers get the certificates that were checked.
func TestLoaderReadsEachFileOnce(t *testing.T) {
	dir := t.TempDir()
	root := pkitest.NewRoot(t, "Loader Root")
	srv := root.Issue(pkitest.Spec{Server: true, DNSNames: []string{"mail.example"}})
	other := root.Issue(pkitest.Spec{Server: true, DNSNames: []string{"other.example"}})
	cert := pkitest.Write(t, dir, "cert.pem", srv.CertPEM)
	key := pkitest.Write(t, dir, "key.pem", srv.KeyPEM)
	cert2 := pkitest.Write(t, dir, "cert2.pem", other.CertPEM)
	key2 := pkitest.Write(t, dir, "key2.pem", other.KeyPEM)
	ca := pkitest.Write(t, dir, "ca.pem", root.PEM())
	crl := pkitest.Write(t, dir, "crl.pem", root.CRL(time.Time{}, time.Time{}))
	ticket := pkitest.Write(t, dir, "ticket.key", bytes.Repeat([]byte{7}, 48))
	pw := pkitest.Write(t, dir, "pw.txt", []byte("unused\n"))

	reads := map[string]int{}
	l := countingLoader(reads)
	passwords, err := l.PasswordFile(pw)
	if err != nil {
		t.Fatal(err)
	}
	checked, err := l.KeyPair(cert, key, passwords)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Certificates(ca); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CRLs(crl); err != nil {
		t.Fatal(err)
	}
	if _, err := l.TicketKeys([]string{ticket}); err != nil {
		t.Fatal(err)
	}
	s := Settings{
		Certificates: []string{cert}, Keys: []string{key}, PasswordFile: pw,
		SNI:               []NamedCertificates{{Names: []string{"other.example"}, Certificates: []string{cert2, cert}, Keys: []string{key2, key}}},
		SessionTicketKeys: []string{ticket},
		VerifyClient:      "on", VerifyDepth: 1, ClientCertificate: ca, TrustedCertificate: ca, CRL: crl,
	}
	for range 2 {
		cfg, auth, err := l.ServerConfig(s)
		if err != nil {
			t.Fatal(err)
		}
		if auth == nil || len(cfg.Certificates) != 1 || cfg.Certificates[0].PrivateKey != checked.PrivateKey {
			t.Fatalf("the server does not serve the checked certificate: %+v", cfg.Certificates)
		}
	}
	for _, p := range []string{cert, key, cert2, key2, ca, crl, ticket, pw} {
		if reads[p] != 1 {
			t.Errorf("%s read %d times, want 1", p, reads[p])
		}
	}

	// A file that cannot be read is reported the same way each time,
	// without another attempt.
	missing := dir + "/missing.pem"
	_, err1 := l.Certificates(missing)
	_, err2 := l.Certificates(missing)
	if err1 == nil || err2 == nil || err1.Error() != err2.Error() || reads[missing] != 1 {
		t.Errorf("missing file: %v / %v, %d reads", err1, err2, reads[missing])
	}

	// Another Loader (a reload) reads again and sees a changed file.
	if err := os.WriteFile(ticket, make([]byte, 47), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := countingLoader(reads).TicketKeys([]string{ticket}); err == nil || reads[ticket] != 2 {
		t.Errorf("a new Loader: %v, %d reads", err, reads[ticket])
	}
}
