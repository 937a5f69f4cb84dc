package pkitest

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
)

// TestNewServer: the server certificate verifies for each of its hosts
// against itself as the only root, serves a TLS handshake, and its files
// are written with the key private.
func TestNewServer(t *testing.T) {
	c, err := NewServer("localhost", "127.0.0.1", "::1")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(c.Cert)
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := c.Cert.Verify(x509.VerifyOptions{DNSName: host, Roots: roots}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	if c.Cert.Subject.CommonName != "localhost" || c.Cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		t.Errorf("subject %v, key usage %b", c.Cert.Subject, c.Cert.KeyUsage)
	}
	certFile, keyFile, err := c.WriteFiles(t.TempDir(), "cert.pem", "key.pem")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", fi.Mode(), err)
	}
	if _, err := NewServer(); err == nil {
		t.Error("NewServer without a host: no error")
	}
}

// TestCAKeyUsage: a CA certificate signs certificates and CRLs only.
func TestCAKeyUsage(t *testing.T) {
	ca := NewRoot(t, "Root")
	if !ca.Cert.IsCA || ca.Cert.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign || len(ca.Cert.ExtKeyUsage) != 0 {
		t.Errorf("CA: IsCA %v, key usage %b, extended %v", ca.Cert.IsCA, ca.Cert.KeyUsage, ca.Cert.ExtKeyUsage)
	}
}
