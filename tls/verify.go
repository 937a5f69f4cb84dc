package tls

import (
	"bytes"
	"crypto/x509"
	"time"
)

// chainVerifier checks a client's certificate chain the way OpenSSL 3's
// X509_verify_cert does for nginx, whose verify callback accepts every
// error so that the handshake completes: every check runs, and the result
// is the last error found (SSL_get_verify_result). The order of the
// checks is OpenSSL's: build the chain (peer certificates as untrusted
// intermediates, trust anchors from ssl_client_certificate and
// ssl_trusted_certificate, at most ssl_verify_depth intermediates), the
// CA and purpose extensions, revocation (ssl_crl: every certificate of
// the chain but a self-signed anchor must be covered by a CRL of its
// issuer, X509_V_FLAG_CRL_CHECK_ALL), signatures and validity periods
// from the anchor down, then name constraints (nameconstraints.go).
type chainVerifier struct {
	roots []*x509.Certificate
	crls  []*x509.RevocationList // nil: no revocation check
	crl   bool                   // ssl_crl is set
	depth int                    // ssl_verify_depth
}

// verify returns the OpenSSL result code (VerifyOK or an X509_V_ERR_*)
// for peer, the certificates the client sent, leaf first.
func (v *chainVerifier) verify(peer []*x509.Certificate, now time.Time) int {
	result := VerifyOK
	report := func(code int) { result = code }
	chain, untrusted, trusted := v.buildChain(peer, report)
	if !trusted {
		top := chain[len(chain)-1]
		switch {
		case selfIssued(top) && len(chain) == 1:
			report(errDepthZeroSelfSigned)
		case selfIssued(top):
			report(errSelfSignedCertInChain)
		case untrusted < len(chain):
			report(errUnableToGetIssuerCert)
		default:
			report(errUnableToGetIssuerLocal)
		}
	}
	checkExtensions(chain, report)
	if v.crl {
		v.checkRevocation(chain, now, report)
	}
	checkSignaturesAndTimes(chain, now, report)
	checkNameConstraints(chain, report)
	return result
}

// buildChain extends the leaf with issuers, trusted ones first, then
// those the client sent, until a self-issued certificate or the depth
// limit (ssl_verify_depth intermediates plus the anchor). It returns the
// chain, how many of its certificates (from the leaf) came from the
// client, and whether it ends in a trust anchor.
func (v *chainVerifier) buildChain(peer []*x509.Certificate, report func(int)) (chain []*x509.Certificate, untrusted int, trusted bool) {
	maxDepth := v.depth + 1
	chain = []*x509.Certificate{peer[0]}
	untrusted = 1
	for {
		top := chain[len(chain)-1]
		if selfIssued(top) {
			return chain, untrusted, contains509(v.roots, top)
		}
		if len(chain) <= maxDepth {
			if iss := findIssuer(v.roots, top, chain); iss != nil {
				chain = append(chain, iss)
				if selfIssued(iss) {
					return chain, untrusted, true
				}
				continue
			}
		}
		if untrusted != len(chain) {
			return chain, untrusted, false // the store has no issuer for its own certificate
		}
		iss := findIssuer(peer[1:], top, chain)
		if iss == nil {
			return chain, untrusted, false
		}
		chain = append(chain, iss)
		untrusted++
		if len(chain) > maxDepth {
			report(errCertChainTooLong)
			return chain, untrusted, false
		}
	}
}

// checkExtensions: the leaf must be usable by a TLS client (extended and
// plain key usage), every other certificate must be a CA allowed to sign
// this deep, and no certificate may carry a critical extension nobody
// handles.
func checkExtensions(chain []*x509.Certificate, report func(int)) {
	for i, c := range chain {
		if unhandledCritical(c) {
			report(errUnhandledCriticalExtens)
		}
		if !ekuAllowsClient(c) {
			report(errInvalidPurpose)
		}
		if i == 0 {
			if c.KeyUsage != 0 && c.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageKeyAgreement) == 0 {
				report(errInvalidPurpose)
			}
			continue
		}
		if !isCA(c) {
			report(errInvalidCA)
		}
		if below := i - 1; (c.MaxPathLen > 0 || c.MaxPathLenZero) && below > c.MaxPathLen {
			report(errPathLengthExceeded)
		}
	}
}

// unhandledCritical: c has a critical extension OpenSSL does not know.
// Go leaves name constraints it cannot use itself (directoryName,
// otherName…) unhandled; they are handled here (nameconstraints.go).
func unhandledCritical(c *x509.Certificate) bool {
	for _, id := range c.UnhandledCriticalExtensions {
		if !id.Equal(oidNameConstraints) {
			return true
		}
	}
	return false
}

// isCA is OpenSSL's check_ca: key usage, if present, allows signing
// certificates, and basic constraints say CA — or the certificate is a
// self-signed version 1 one, which OpenSSL accepts as a CA.
func isCA(c *x509.Certificate) bool {
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return false
	}
	if c.BasicConstraintsValid {
		return c.IsCA
	}
	return c.Version == 1 && selfIssued(c)
}

// ekuAllowsClient: no extended key usage, or one that includes TLS client
// authentication or any purpose.
func ekuAllowsClient(c *x509.Certificate) bool {
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return true
	}
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageClientAuth || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

// checkRevocation looks up, for every certificate but a self-issued top,
// a CRL of its issuer that is current and correctly signed, and whether
// it lists the certificate.
func (v *chainVerifier) checkRevocation(chain []*x509.Certificate, now time.Time, report func(int)) {
	for i, c := range chain {
		if i == len(chain)-1 && selfIssued(c) {
			break
		}
		var issuer *x509.Certificate
		if i+1 < len(chain) {
			issuer = chain[i+1]
		}
		crl := bestCRL(v.crls, c)
		if crl == nil {
			report(errUnableToGetCRL)
			continue
		}
		switch {
		case crl.ThisUpdate.After(now):
			report(errCRLNotYetValid)
		case !crl.NextUpdate.IsZero() && crl.NextUpdate.Before(now):
			report(errCRLHasExpired)
		}
		if issuer == nil {
			report(errUnableToGetCRLIssuer)
		} else if crl.CheckSignatureFrom(issuer) != nil {
			report(errCRLSignatureFailure)
		}
		for _, r := range crl.RevokedCertificateEntries {
			if r.SerialNumber != nil && r.SerialNumber.Cmp(c.SerialNumber) == 0 {
				report(errCertRevoked)
				break
			}
		}
	}
}

// bestCRL is the most recent CRL issued by c's issuer (by name).
func bestCRL(crls []*x509.RevocationList, c *x509.Certificate) *x509.RevocationList {
	var best *x509.RevocationList
	for _, l := range crls {
		if bytes.Equal(l.RawIssuer, c.RawIssuer) && (best == nil || l.ThisUpdate.After(best.ThisUpdate)) {
			best = l
		}
	}
	return best
}

// checkSignaturesAndTimes walks from the top of the chain to the leaf:
// each certificate's signature is checked with its issuer's key (not the
// anchor's own self-signature, as OpenSSL does not by default), then its
// validity period. A top that is not self-issued has no key to check it
// with and is skipped; if it is the only certificate, OpenSSL reports
// "unable to verify the first certificate".
func checkSignaturesAndTimes(chain []*x509.Certificate, now time.Time, report func(int)) {
	i := len(chain) - 1
	var issuer *x509.Certificate
	switch {
	case selfIssued(chain[i]):
	case i == 0:
		report(errUnableToVerifyLeafSig)
	default:
		issuer = chain[i]
		i--
	}
	for ; i >= 0; i-- {
		c := chain[i]
		if issuer != nil && issuer.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) != nil {
			report(errCertSignatureFailure)
		}
		switch {
		case now.Before(c.NotBefore):
			report(errCertNotYetValid)
		case now.After(c.NotAfter):
			report(errCertHasExpired)
		}
		issuer = c
	}
}

// selfIssued: subject and issuer names are the same, and so are the key
// identifiers when both are present (OpenSSL's X509_self_signed without
// the signature check).
func selfIssued(c *x509.Certificate) bool {
	if !bytes.Equal(c.RawSubject, c.RawIssuer) {
		return false
	}
	return len(c.AuthorityKeyId) == 0 || len(c.SubjectKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId)
}

// findIssuer returns a candidate that may have issued c and is not yet in
// chain, preferring one whose key verifies c's signature.
func findIssuer(cands []*x509.Certificate, c *x509.Certificate, chain []*x509.Certificate) *x509.Certificate {
	var fallback *x509.Certificate
	for _, cand := range cands {
		if !bytes.Equal(cand.RawSubject, c.RawIssuer) || contains509(chain, cand) {
			continue
		}
		if len(c.AuthorityKeyId) > 0 && len(cand.SubjectKeyId) > 0 && !bytes.Equal(c.AuthorityKeyId, cand.SubjectKeyId) {
			continue
		}
		if cand.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil {
			return cand
		}
		if fallback == nil {
			fallback = cand
		}
	}
	return fallback
}

// contains509 reports whether list holds a certificate equal to c.
func contains509(list []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range list {
		if x.Equal(c) {
			return true
		}
	}
	return false
}
