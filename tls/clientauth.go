package tls

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"time"
)

// ClientAuth is a server's client-certificate policy (ssl_verify_client,
// SPEC.md §8.3). The handshake only requests a certificate (and lists the
// ssl_client_certificate CAs as acceptable); Check then verifies it, so
// that, as with nginx, a certificate that fails verification still
// completes the handshake and the session is refused with the protocol's
// own reply. Check runs after resumed handshakes too, on the certificate
// the ticket carries, against the current CAs and CRLs.
type ClientAuth struct {
	mode     string // on, optional or optional_no_ca
	verifier chainVerifier
}

// Decision is what the session does after Check.
type Decision int

const (
	// Accept: go on (the result still reaches the auth service).
	Accept Decision = iota
	// RefuseCertError: the certificate failed verification; send the
	// protocol's "SSL certificate error" reply and close.
	RefuseCertError
	// RefuseNoCert: ssl_verify_client on and no certificate; send the
	// "No required SSL certificate" reply and close.
	RefuseNoCert
)

// Result is the verification of one connection's client certificate.
type Result struct {
	Code int               // VerifyOK, or OpenSSL's X509_V_ERR_* code
	Cert *x509.Certificate // the certificate presented, nil if none
}

// Verify is the Auth-SSL-Verify value: SUCCESS, NONE (no certificate) or
// FAILED:<OpenSSL's text>.
func (r Result) Verify() string {
	switch {
	case r.Cert == nil:
		return "NONE"
	case r.Code == VerifyOK:
		return "SUCCESS"
	}
	return "FAILED:" + VerifyText(r.Code)
}

// newClientAuth builds the policy and the handshake settings it needs
// into cfg, loading the CA and CRL files with l. It returns nil for
// ssl_verify_client off.
func (l *Loader) newClientAuth(s Settings, cfg *tls.Config) (*ClientAuth, error) {
	switch s.VerifyClient {
	case "", "off":
		return nil, nil
	case "on", "optional", "optional_no_ca":
	default:
		return nil, fmt.Errorf("ssl_verify_client: invalid value %q", s.VerifyClient)
	}
	a := &ClientAuth{mode: s.VerifyClient}
	a.verifier.depth = s.VerifyDepth
	if s.ClientCertificate != "" {
		cas, err := l.Certificates(s.ClientCertificate)
		if err != nil {
			return nil, fmt.Errorf("ssl_client_certificate: %w", err)
		}
		pool := x509.NewCertPool()
		for _, c := range cas {
			pool.AddCert(c)
		}
		cfg.ClientCAs = pool
		a.verifier.roots = append(a.verifier.roots, cas...)
	}
	if s.TrustedCertificate != "" {
		cas, err := l.Certificates(s.TrustedCertificate)
		if err != nil {
			return nil, fmt.Errorf("ssl_trusted_certificate: %w", err)
		}
		a.verifier.roots = append(a.verifier.roots, cas...)
	}
	if len(a.verifier.roots) == 0 && a.mode != "optional_no_ca" {
		return nil, fmt.Errorf("ssl_verify_client %s needs ssl_client_certificate or ssl_trusted_certificate", a.mode)
	}
	if s.CRL != "" {
		crls, err := l.CRLs(s.CRL)
		if err != nil {
			return nil, fmt.Errorf("ssl_crl: %w", err)
		}
		a.verifier.crls, a.verifier.crl = crls, true
	}
	cfg.ClientAuth = tls.RequestClientCert
	return a, nil
}

// Check verifies the client certificate of a completed handshake and
// decides, as nginx's ngx_mail_verify_cert does, whether the session may
// go on. a may be nil (ssl_verify_client off): every session is accepted.
func (a *ClientAuth) Check(cs tls.ConnectionState) (Result, Decision) {
	if a == nil {
		return Result{}, Accept
	}
	if len(cs.PeerCertificates) == 0 {
		if a.mode == "on" {
			return Result{}, RefuseNoCert
		}
		return Result{}, Accept
	}
	r := Result{Cert: cs.PeerCertificates[0]}
	r.Code = a.verifier.verify(cs.PeerCertificates, time.Now())
	if r.Code != VerifyOK && (a.mode != "optional_no_ca" || !tolerableWithoutCA(r.Code)) {
		return r, RefuseCertError
	}
	return r, Accept
}

// LoadCertificates reads every CERTIFICATE block of a PEM file (a CA
// list). A file without any is an error.
func LoadCertificates(path string) ([]*x509.Certificate, error) {
	return new(Loader).Certificates(path)
}

// Certificates is LoadCertificates, reading the file once per Loader.
func (l *Loader) Certificates(path string) ([]*x509.Certificate, error) {
	data, err := l.read(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate found", path)
	}
	return out, nil
}

// LoadCRLs reads every X509 CRL block of a PEM file. A file without any
// is an error.
func LoadCRLs(path string) ([]*x509.RevocationList, error) {
	return new(Loader).CRLs(path)
}

// CRLs is LoadCRLs, reading the file once per Loader.
func (l *Loader) CRLs(path string) ([]*x509.RevocationList, error) {
	data, err := l.read(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.RevocationList
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		if b.Type != "X509 CRL" {
			continue
		}
		l, err := x509.ParseRevocationList(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no PEM CRL (X509 CRL) found", path)
	}
	return out, nil
}
