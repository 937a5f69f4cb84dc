package mailtest

import "mailproxy/internal/pkitest"

// DefaultCertHosts are the names SelfSignedCert uses when given none.
var DefaultCertHosts = []string{"localhost", "127.0.0.1", "::1"}

// SelfSignedCert returns a fresh self-signed server certificate and its
// PKCS#8 key, both PEM-encoded, made by pkitest.NewServer for hosts
// (default DefaultCertHosts): an ECDSA P-256 key, IP literals as IP SANs
// and the rest as DNS names, the first host also the common name, valid
// from an hour ago for 30 days, its own CA so that a client can trust it
// by adding it to its root pool (or use -k / InsecureSkipVerify).
func SelfSignedCert(hosts ...string) (certPEM, keyPEM []byte, err error) {
	c, err := newServerCert(hosts)
	if err != nil {
		return nil, nil, err
	}
	return c.CertPEM, c.KeyPEM, nil
}

// WriteSelfSignedCert writes a SelfSignedCert(hosts...) to dir as cert.pem
// (mode 0644) and key.pem (mode 0600) and returns their paths.
func WriteSelfSignedCert(dir string, hosts ...string) (certFile, keyFile string, err error) {
	c, err := newServerCert(hosts)
	if err != nil {
		return "", "", err
	}
	return c.WriteFiles(dir, "cert.pem", "key.pem")
}

func newServerCert(hosts []string) (*pkitest.Cert, error) {
	if len(hosts) == 0 {
		hosts = DefaultCertHosts
	}
	return pkitest.NewServer(hosts...)
}
