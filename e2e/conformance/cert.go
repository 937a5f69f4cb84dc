package conformance

import (
	"crypto/x509/pkix"
	"time"

	"mailproxy/internal/pkitest"
)

// WriteTestCert creates a self-signed RSA-2048 server certificate for
// CN=mx.example.com and writes it and its key (PKCS #8) as PEM files
// cert.pem and key.pem in dir (README §8). It returns their paths.
func WriteTestCert(dir string) (certFile, keyFile string, err error) {
	c, err := pkitest.NewSelfSigned(pkitest.Spec{
		Subject:  pkix.Name{CommonName: "mx.example.com"},
		NotAfter: time.Now().Add(30 * 24 * time.Hour),
		RSA:      true,
		Server:   true,
	})
	if err != nil {
		return "", "", err
	}
	return c.WriteFiles(dir, "cert.pem", "key.pem")
}
