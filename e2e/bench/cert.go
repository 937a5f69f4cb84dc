package bench

import (
	"crypto/tls"

	"mailproxy/internal/pkitest"
)

// writeCert makes a self-signed ECDSA P-256 server certificate for
// localhost, writes it and its key as PEM into dir (cert.pem, key.pem)
// and returns the paths and a server configuration that serves it.
func writeCert(dir string) (certFile, keyFile string, conf *tls.Config, err error) {
	c, err := pkitest.NewServer("localhost")
	if err != nil {
		return "", "", nil, err
	}
	if certFile, keyFile, err = c.WriteFiles(dir, "cert.pem", "key.pem"); err != nil {
		return "", "", nil, err
	}
	return certFile, keyFile, &tls.Config{Certificates: []tls.Certificate{c.TLS()}}, nil
}
