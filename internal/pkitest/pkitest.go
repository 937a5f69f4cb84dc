// Package pkitest makes throw-away certificate authorities, certificates
// and CRLs for tests, at test time, so that nothing private is ever
// committed. Every helper fails the test on error.
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
	"math/big"
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
	Serial     *big.Int
	NotBefore  time.Time
	NotAfter   time.Time
	RSA        bool // an RSA 2048 key instead of ECDSA P-256
	Server     bool // server instead of client authentication
	CA         bool
}

var serials atomic.Int64

func init() { serials.Store(time.Now().UnixNano() & 0xffffff) }

func newKey(t testing.TB, useRSA bool) crypto.Signer {
	t.Helper()
	var k crypto.Signer
	var err error
	if useRSA {
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// NewRoot makes a self-signed root CA named name.
func NewRoot(t testing.TB, name string) *CA {
	t.Helper()
	c := issue(t, nil, Spec{Subject: pkix.Name{CommonName: name, Organization: []string{"mailproxy test"}}, CA: true})
	return &CA{Cert: c.Cert, Key: c.Key, t: t}
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

func issue(t testing.TB, parent *CA, s Spec) *Cert {
	t.Helper()
	key := newKey(t, s.RSA)
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
		NotBefore:             s.NotBefore,
		NotAfter:              s.NotAfter,
		BasicConstraintsValid: true,
		IsCA:                  s.CA,
	}
	switch {
	case s.CA:
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	case s.Server:
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	default:
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	signer, issuerCert := key, tmpl
	if parent != nil {
		signer, issuerCert = parent.Key, parent.Cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuerCert, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &Cert{
		Cert:    cert,
		Key:     key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	}
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
