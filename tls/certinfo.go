package tls

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"strings"
)

// CertFacts are the Auth-SSL-* values nginx derives from a client
// certificate (SPEC.md §9.2 rows 21–25).
type CertFacts struct {
	Subject     string // OpenSSL RFC 2253 form (DN)
	Issuer      string
	Serial      string // OpenSSL's hex form (Serial)
	Fingerprint string // SHA-1 of the DER, lower-case hex
	PEM         string // the certificate, PEM, ending in a newline
}

// Facts returns the Auth-SSL-* values of c.
func Facts(c *x509.Certificate) CertFacts {
	sum := sha1.Sum(c.Raw)
	return CertFacts{
		Subject:     DN(c.RawSubject),
		Issuer:      DN(c.RawIssuer),
		Serial:      Serial(c.SerialNumber),
		Fingerprint: hex.EncodeToString(sum[:]),
		PEM:         string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})),
	}
}

// Serial formats a serial number as OpenSSL's i2a_ASN1_INTEGER does:
// upper-case hex of the magnitude, two digits per byte, "00" for zero, a
// leading '-' when negative.
func Serial(n *big.Int) string {
	if n == nil {
		return ""
	}
	mag := new(big.Int).Abs(n).Bytes()
	if len(mag) == 0 {
		mag = []byte{0}
	}
	s := strings.ToUpper(hex.EncodeToString(mag))
	if n.Sign() < 0 {
		return "-" + s
	}
	return s
}
