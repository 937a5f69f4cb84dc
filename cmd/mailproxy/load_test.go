package main

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailproxy/internal/pkitest"
)

// TestReloadRereadsCertificates: the server a start serves is the one
// load built, and each reload reads the certificate files again: a bad
// file refuses the reload (reported at its line) and the running
// configuration keeps serving; a good new file is served after the next
// reload.
func TestReloadRereadsCertificates(t *testing.T) {
	dir := t.TempDir()
	writePair := func(name string) {
		c := pkitest.SelfSigned(t, pkitest.Spec{Subject: pkix.Name{CommonName: name}, Server: true})
		pkitest.Write(t, dir, "c.pem", c.CertPEM)
		pkitest.Write(t, dir, "k.pem", c.KeyPEM)
	}
	writePair("one.example")
	file := filepath.Join(dir, "mailproxy.yaml")
	yml := "mail: {auth_http: 127.0.0.1:9000}\nservers:\n  - protocol: imap\n    listen: [{address: \"127.0.0.1:0\", ssl: true}]\n    ssl_certificate: c.pem\n    ssl_certificate_key: k.pem\n"
	if err := os.WriteFile(file, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	_, srv, err := loadConfig(file, nginxFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(); close(done) }()
	defer func() { srv.Close(); <-done }()
	served := func() string {
		t.Helper()
		c, err := tls.Dial("tcp", srv.Addrs()[0].String(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := served(); got != "one.example" {
		t.Fatalf("served %q", got)
	}

	pkitest.Write(t, dir, "c.pem", []byte("not a certificate\n"))
	if _, err := reload(file, srv, nil); err == nil || !strings.HasPrefix(err.Error(), file+":5: ssl_certificate: cannot load certificate") {
		t.Fatalf("reload with a bad certificate: %v", err)
	}
	if got := served(); got != "one.example" {
		t.Fatalf("after a refused reload: served %q", got)
	}

	writePair("two.example")
	if _, err := reload(file, srv, nil); err != nil {
		t.Fatal(err)
	}
	if got := served(); got != "two.example" {
		t.Fatalf("after the reload: served %q", got)
	}
}
