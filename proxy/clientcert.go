package proxy

import (
	"errors"
	"strconv"

	"mailproxy/authhttp"
	mailtls "mailproxy/tls"
)

// errCertRefused ends a session whose client certificate was refused;
// the protocol's reply has been sent.
var errCertRefused = errors.New("client certificate refused")

// checkClientCert applies ssl_verify_client after a handshake (implicit
// TLS before the greeting, or STARTTLS), as nginx's ngx_mail_verify_cert
// does (SPEC §8.3): the result is kept for the auth request; a
// certificate that failed verification, or a missing one with `on`, is
// logged with nginx's text, answered with the protocol's reply and
// returned as errCertRefused.
func (cc *clientConn) checkClientCert() error {
	r, d := cc.site.clientAuth.Check(*cc.tlsState)
	cc.cert = r
	switch d {
	case mailtls.RefuseCertError:
		cc.log.Info("client SSL certificate verify error: (" + strconv.Itoa(r.Code) + ":" + mailtls.VerifyText(r.Code) + ")")
		cc.writeClient(cc.site.proto.Replies().CertError)
		return errCertRefused
	case mailtls.RefuseNoCert:
		cc.log.Info("client sent no required SSL certificate")
		cc.writeClient(cc.site.proto.Replies().NoCert)
		return errCertRefused
	}
	return nil
}

// sslInfo describes the client's TLS connection for the auth request
// (SPEC §9.2 rows 17–25): nil without TLS; the Auth-SSL-Verify… values
// only when ssl_verify_client is not off, the certificate's details when
// one was presented, its PEM with auth_http_pass_client_cert.
func (cc *clientConn) sslInfo() *authhttp.SSLInfo {
	if cc.tlsState == nil {
		return nil
	}
	info := &authhttp.SSLInfo{}
	info.Protocol, info.Cipher = mailtls.Describe(*cc.tlsState)
	if cc.site.clientAuth == nil {
		return info
	}
	info.Verify = cc.cert.Verify()
	if cc.cert.Cert != nil {
		f := mailtls.Facts(cc.cert.Cert)
		info.Subject, info.Issuer, info.Serial, info.Fingerprint = f.Subject, f.Issuer, f.Serial, f.Fingerprint
		if cc.site.cfg.AuthHTTPPassClientCert {
			info.Cert = f.PEM
		}
	}
	return info
}
