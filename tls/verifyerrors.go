package tls

import "strconv"

// OpenSSL's X509_V_* verification results that Verify can produce.
const (
	VerifyOK                   = 0
	errUnspecified             = 1
	errUnableToGetIssuerCert   = 2
	errUnableToGetCRL          = 3
	errCertSignatureFailure    = 7
	errCRLSignatureFailure     = 8
	errCertNotYetValid         = 9
	errCertHasExpired          = 10
	errCRLNotYetValid          = 11
	errCRLHasExpired           = 12
	errDepthZeroSelfSigned     = 18
	errSelfSignedCertInChain   = 19
	errUnableToGetIssuerLocal  = 20
	errUnableToVerifyLeafSig   = 21
	errCertChainTooLong        = 22
	errCertRevoked             = 23
	errInvalidCA               = 24
	errPathLengthExceeded      = 25
	errInvalidPurpose          = 26
	errCertUntrusted           = 27
	errUnableToGetCRLIssuer    = 33
	errUnhandledCriticalExtens = 34

	errPermittedViolation          = 47
	errExcludedViolation           = 48
	errSubtreeMinMax               = 49
	errUnsupportedConstraintType   = 51
	errUnsupportedConstraintSyntax = 52
	errUnsupportedNameSyntax       = 53
)

// verifyTexts are X509_verify_cert_error_string's texts in OpenSSL 3.0
// (the library Debian's nginx uses): what nginx logs and sends in
// Auth-SSL-Verify: FAILED:<text>.
var verifyTexts = map[int]string{
	VerifyOK:                   "ok",
	errUnspecified:             "unspecified certificate verification error",
	errUnableToGetIssuerCert:   "unable to get issuer certificate",
	errUnableToGetCRL:          "unable to get certificate CRL",
	errCertSignatureFailure:    "certificate signature failure",
	errCRLSignatureFailure:     "CRL signature failure",
	errCertNotYetValid:         "certificate is not yet valid",
	errCertHasExpired:          "certificate has expired",
	errCRLNotYetValid:          "CRL is not yet valid",
	errCRLHasExpired:           "CRL has expired",
	errDepthZeroSelfSigned:     "self-signed certificate",
	errSelfSignedCertInChain:   "self-signed certificate in certificate chain",
	errUnableToGetIssuerLocal:  "unable to get local issuer certificate",
	errUnableToVerifyLeafSig:   "unable to verify the first certificate",
	errCertChainTooLong:        "certificate chain too long",
	errCertRevoked:             "certificate revoked",
	errInvalidCA:               "invalid CA certificate",
	errPathLengthExceeded:      "path length constraint exceeded",
	errInvalidPurpose:          "unsupported certificate purpose",
	errCertUntrusted:           "certificate not trusted",
	errUnableToGetCRLIssuer:    "unable to get CRL issuer certificate",
	errUnhandledCriticalExtens: "unhandled critical extension",

	errPermittedViolation:          "permitted subtree violation",
	errExcludedViolation:           "excluded subtree violation",
	errSubtreeMinMax:               "name constraints minimum and maximum not supported",
	errUnsupportedConstraintType:   "unsupported name constraint type",
	errUnsupportedConstraintSyntax: "unsupported or invalid name constraint syntax",
	errUnsupportedNameSyntax:       "unsupported or invalid name syntax",
}

// VerifyText is OpenSSL's text for a verification result code.
func VerifyText(code int) string {
	if s, ok := verifyTexts[code]; ok {
		return s
	}
	return "error number " + strconv.Itoa(code)
}

// tolerableWithoutCA reports whether ssl_verify_client optional_no_ca
// lets a session with this result go on (nginx's
// ngx_ssl_verify_error_optional): the errors of a certificate whose
// issuer is not known.
func tolerableWithoutCA(code int) bool {
	switch code {
	case errDepthZeroSelfSigned, errSelfSignedCertInChain, errUnableToGetIssuerLocal, errCertUntrusted, errUnableToVerifyLeafSig:
		return true
	}
	return false
}
