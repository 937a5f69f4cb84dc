package tls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// ClientSettings are the TLS directives of a client side: mailproxy
// talking to a backend (proxy_ssl_*, as nginx's stream and http proxies
// name them) or to an https:// auth service (auth_http_ssl_*). Paths are
// used as given.
type ClientSettings struct {
	// Verify checks the server's certificate: its chain up to one of the
	// trusted CAs and the name it must carry.
	Verify bool
	// TrustedCertificate is a PEM file of the CAs trusted for the
	// server's certificate; "" means the system's roots.
	TrustedCertificate string
	// Certificate and Key are a client certificate to present; both or
	// neither.
	Certificate, Key string
	Protocols        []string // ssl_protocols names; none: TLSv1.2 and TLSv1.3
	Ciphers          string   // an OpenSSL cipher string; "": Go's defaults
	// SessionReuse resumes earlier sessions with the same server.
	SessionReuse bool
}

// ClientTLS is a built client setting, shared by every connection of one
// configuration load (and their resumed sessions).
type ClientTLS struct {
	base   *tls.Config
	roots  *x509.CertPool // nil: the system's
	verify bool
}

// DefaultClientSessions is how many servers' sessions a ClientTLS keeps
// for resumption.
const DefaultClientSessions = 256

// ClientTLS loads what s names (each file through l, once) and builds the
// client settings. A setting Go cannot honour is an error naming it.
func (l *Loader) ClientTLS(s ClientSettings) (*ClientTLS, error) {
	c := &ClientTLS{base: &tls.Config{}, verify: s.Verify}
	if s.TrustedCertificate != "" {
		cas, err := l.Certificates(s.TrustedCertificate)
		if err != nil {
			return nil, err
		}
		c.roots = x509.NewCertPool()
		for _, ca := range cas {
			c.roots.AddCert(ca)
		}
	}
	switch {
	case s.Certificate != "" && s.Key != "":
		pair, err := l.KeyPair(s.Certificate, s.Key, nil)
		if err != nil {
			return nil, fmt.Errorf("certificate %q: %w", s.Certificate, err)
		}
		c.base.Certificates = []tls.Certificate{pair}
	case s.Certificate != "" || s.Key != "":
		return nil, errors.New("a client certificate needs both the certificate and its key")
	}
	var err error
	if c.base.MinVersion, c.base.MaxVersion, err = versionRange(s.Protocols); err != nil {
		return nil, err
	}
	if s.Ciphers != "" {
		if c.base.CipherSuites, err = ParseCiphers(s.Ciphers); err != nil {
			return nil, err
		}
	}
	if s.SessionReuse {
		c.base.ClientSessionCache = tls.NewLRUClientSessionCache(DefaultClientSessions)
	}
	return c, nil
}

// Verify reports whether server certificates are verified.
func (c *ClientTLS) Verify() bool { return c.verify }

// For returns the settings of one connection to a server whose
// certificate must carry name (a host name, or an IP literal matched
// against its IP addresses), checked when verification is on; sni, when
// not empty, is sent as the server name indication. Sessions are
// resumed only with a server of the same SNI, or without SNI the same
// address, and a resumed session is checked again.
func (c *ClientTLS) For(name, sni string) *tls.Config {
	cfg := c.base.Clone()
	cfg.ServerName = sni
	// Go's own check would use ServerName, which is the SNI (or nothing):
	// the name is checked here instead.
	cfg.InsecureSkipVerify = true
	if c.verify {
		roots := c.roots
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyServer(cs.PeerCertificates, roots, name)
		}
	}
	return cfg
}

// Standard returns the settings of a connection checked by Go itself
// against ServerName, which the caller sets to the server's name (an
// https:// auth service: the URL's host is both SNI and the name).
func (c *ClientTLS) Standard() *tls.Config {
	cfg := c.base.Clone()
	cfg.RootCAs = c.roots
	cfg.InsecureSkipVerify = !c.verify
	return cfg
}

// verifyServer checks a server's chain up to roots (nil: the system's)
// and that its certificate is valid for name.
func verifyServer(chain []*x509.Certificate, roots *x509.CertPool, name string) error {
	if len(chain) == 0 {
		return errors.New("the server sent no certificate")
	}
	opts := x509.VerifyOptions{Roots: roots, DNSName: name, Intermediates: x509.NewCertPool()}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := chain[0].Verify(opts)
	return err
}

// CheckProtocols reports an ssl_protocols list Go cannot honour (SSLv2,
// SSLv3, a list with a gap).
func CheckProtocols(names []string) error {
	_, _, err := versionRange(names)
	return err
}
