// Package pkitest makes throw-away certificate authorities, certificates
// and CRLs for tests, at test time, so that nothing private is ever
// committed. Every helper that takes a testing.TB fails the test on
// error; NewSelfSigned, NewServer and Cert.WriteFiles return errors
// instead, for the demo and the tools (benchmark, conformance runner),
// which have no test to fail.
package pkitest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// CA is a certificate authority: a root (self-signed) or an intermediate.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	t    testing.TB
}

// Cert is an issued certificate with its key.
type Cert struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM []byte // the certificate alone
	KeyPEM  []byte // PKCS#8
}

// Spec describes a certificate to issue. Zero values give a client
// certificate for "client" with an ECDSA P-256 key, valid from an hour
// ago for a day.
type Spec struct {
	Subject    pkix.Name
	RawSubject []byte // DER name; overrides Subject (multi-valued RDNs, string types)
	DNSNames   []string
	// Hosts are more subject alternative names: IP literals become IP
	// addresses, the others DNS names.
	Hosts     []string
	Serial    *big.Int
	NotBefore time.Time
	NotAfter  time.Time
	RSA       bool // an RSA 2048 key instead of ECDSA P-256
	Server    bool // server instead of client authentication
	// CA makes a certificate authority; with Server, a server certificate
	// that is its own CA (a client trusts it by adding it to its roots).
	CA bool
	// Emails and URIs are more subject alternative names.
	Emails []string
	URIs   []*url.URL
	// Template, when set, edits the certificate template last, e.g. to
	// add name constraints or raw extensions.
	Template func(*x509.Certificate)
}

var serials atomic.Int64

func init() { serials.Store(time.Now().UnixNano() & 0xffffff) }

func newKey(useRSA bool) (crypto.Signer, error) {
	if useRSA {
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// NewRoot makes a self-signed root CA named name.
func NewRoot(t testing.TB, name string) *CA {
	t.Helper()
	c := issue(t, nil, Spec{Subject: pkix.Name{CommonName: name, Organization: []string{"mailproxy test"}}, CA: true})
	return &CA{Cert: c.Cert, Key: c.Key, t: t}
}

// NewRootCA makes a self-signed root CA from s (CA is set).
func NewRootCA(t testing.TB, s Spec) *CA {
	t.Helper()
	s.CA = true
	c := issue(t, nil, s)
	return &CA{Cert: c.Cert, Key: c.Key, t: t}
}

// SubCA makes a CA from s (CA is set), signed by ca.
func (ca *CA) SubCA(s Spec) *CA {
	ca.t.Helper()
	s.CA = true
	c := issue(ca.t, ca, s)
	return &CA{Cert: c.Cert, Key: c.Key, t: ca.t}
}

// Intermediate makes a CA signed by ca.
func (ca *CA) Intermediate(name string) *CA {
	ca.t.Helper()
	c := issue(ca.t, ca, Spec{Subject: pkix.Name{CommonName: name, Organization: []string{"mailproxy test"}}, CA: true})
	return &CA{Cert: c.Cert, Key: c.Key, t: ca.t}
}

// Issue makes a certificate signed by ca.
func (ca *CA) Issue(s Spec) *Cert {
	ca.t.Helper()
	return issue(ca.t, ca, s)
}

// SelfSigned makes a self-signed end-entity certificate.
func SelfSigned(t testing.TB, s Spec) *Cert {
	t.Helper()
	return issue(t, nil, s)
}

// NewSelfSigned makes a self-signed certificate as SelfSigned does, but
// returns an error instead of failing a test.
func NewSelfSigned(s Spec) (*Cert, error) {
	c, err := build(nil, s)
	if err != nil {
		return nil, fmt.Errorf("pkitest: %w", err)
	}
	return c, nil
}

// NewServer makes a self-signed ECDSA P-256 server certificate for hosts
// (DNS names or IP literals; the first is also the common name), valid
// from an hour ago for 30 days. It is its own CA, so that a client can
// trust it by adding it to its root pool (or skip verification).
func NewServer(hosts ...string) (*Cert, error) {
	if len(hosts) == 0 {
		return nil, fmt.Errorf("pkitest: a server certificate needs a host name")
	}
	return NewSelfSigned(Spec{
		Subject:  pkix.Name{CommonName: hosts[0], Organization: []string{"mailproxy test"}},
		Hosts:    hosts,
		NotAfter: time.Now().Add(30 * 24 * time.Hour),
		Server:   true,
		CA:       true,
	})
}

func issue(t testing.TB, parent *CA, s Spec) *Cert {
	t.Helper()
	c, err := build(parent, s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// build issues s, signed by parent or, when parent is nil, self-signed.
func build(parent *CA, s Spec) (*Cert, error) {
	key, err := newKey(s.RSA)
	if err != nil {
		return nil, err
	}
	if s.Serial == nil {
		s.Serial = big.NewInt(serials.Add(1))
	}
	if s.NotBefore.IsZero() {
		s.NotBefore = time.Now().Add(-time.Hour)
	}
	if s.NotAfter.IsZero() {
		s.NotAfter = time.Now().Add(24 * time.Hour)
	}
	if s.Subject.CommonName == "" && len(s.Subject.Names) == 0 && s.RawSubject == nil {
		s.Subject.CommonName = "client"
	}
	tmpl := &x509.Certificate{
		SerialNumber:          s.Serial,
		Subject:               s.Subject,
		RawSubject:            s.RawSubject,
		DNSNames:              s.DNSNames,
		EmailAddresses:        s.Emails,
		URIs:                  s.URIs,
		NotBefore:             s.NotBefore,
		NotAfter:              s.NotAfter,
		BasicConstraintsValid: true,
		IsCA:                  s.CA,
	}
	for _, h := range s.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	switch {
	case s.Server:
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	case !s.CA:
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	if s.CA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	if s.Template != nil {
		s.Template(tmpl)
	}
	signer, issuerCert := key, tmpl
	if parent != nil {
		signer, issuerCert = parent.Key, parent.Cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuerCert, key.Public(), signer)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &Cert{
		Cert:    cert,
		Key:     key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	}, nil
}

// WriteFiles writes the certificate (mode 0644) and its key (mode 0600)
// as PEM files certName and keyName in dir and returns their paths.
func (c *Cert) WriteFiles(dir, certName, keyName string) (certFile, keyFile string, err error) {
	certFile, keyFile = filepath.Join(dir, certName), filepath.Join(dir, keyName)
	if err := os.WriteFile(certFile, c.CertPEM, 0o644); err != nil {
		return "", "", fmt.Errorf("pkitest: %w", err)
	}
	if err := os.WriteFile(keyFile, c.KeyPEM, 0o600); err != nil {
		return "", "", fmt.Errorf("pkitest: %w", err)
	}
	return certFile, keyFile, nil
}

// TLS returns the certificate for a tls.Config, followed by extra chain
// certificates (intermediates) the peer should send.
func (c *Cert) TLS(chain ...*x509.Certificate) tls.Certificate {
	tc := tls.Certificate{Certificate: [][]byte{c.Cert.Raw}, PrivateKey: c.Key, Leaf: c.Cert}
	for _, x := range chain {
		tc.Certificate = append(tc.Certificate, x.Raw)
	}
	return tc
}

// CRL returns a PEM CRL signed by ca, listing revoked, valid from
// thisUpdate to nextUpdate (zero values: an hour ago, in a day).
func (ca *CA) CRL(thisUpdate, nextUpdate time.Time, revoked ...*x509.Certificate) []byte {
	ca.t.Helper()
	if thisUpdate.IsZero() {
		thisUpdate = time.Now().Add(-time.Hour)
	}
	if nextUpdate.IsZero() {
		nextUpdate = time.Now().Add(24 * time.Hour)
	}
	var entries []x509.RevocationListEntry
	for _, r := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: r.SerialNumber, RevocationTime: thisUpdate})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(serials.Add(1)),
		ThisUpdate:                thisUpdate,
		NextUpdate:                nextUpdate,
		RevokedCertificateEntries: entries,
	}, ca.Cert, ca.Key)
	if err != nil {
		ca.t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// PEM returns the CA certificate as PEM.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// Write writes data to dir/name (mode 0600) and returns the path.
func Write(t testing.TB, dir, name string, data ...[]byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	var all []byte
	for _, d := range data {
		all = append(all, d...)
	}
	if err := os.WriteFile(p, all, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
