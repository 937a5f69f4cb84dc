package config

import (
	mailtls "mailproxy/tls"
)

// tlsLines are the lines of the TLS keys whose files checkTLSFiles reads.
type tlsLines struct {
	curve, tickets, client, trusted, crl int
}

// loadTLSFiles loads the files of one TLS key (ssl_session_ticket_key,
// ssl_client_certificate, ssl_trusted_certificate or ssl_crl) as the
// server will. Tests may replace it.
var loadTLSFiles = func(key string, paths ...string) error {
	var err error
	switch key {
	case "ssl_session_ticket_key":
		_, err = mailtls.ReadTicketKeys(paths)
	case "ssl_crl":
		_, err = mailtls.LoadCRLs(paths[0])
	default:
		_, err = mailtls.LoadCertificates(paths[0])
	}
	return err
}

// checkTLSFiles checks, for a server that uses TLS, what the server will
// load when it starts: the ssl_ecdh_curve names, the ticket key files,
// the CA files (when ssl_verify_client is not off: nginx loads them only
// then) and the CRL file, so that `mailproxy -t` reports them with their
// line.
func checkTLSFiles(c *collector, srv *Server, l tlsLines) {
	if _, err := mailtls.ParseCurves(srv.SSLECDHCurve); err != nil {
		c.errorf(l.curve, "%v", err)
	}
	if srv.SSLSessionTickets && len(srv.SSLSessionTicketKey) > 0 {
		if err := loadTLSFiles("ssl_session_ticket_key", srv.SSLSessionTicketKey...); err != nil {
			c.errorf(l.tickets, "%v", err)
		}
	}
	check := func(key, path string, line int) {
		if path == "" {
			return
		}
		if err := loadTLSFiles(key, path); err != nil {
			c.errorf(line, "%s: %v", key, err)
		}
	}
	if srv.SSLVerifyClient != "off" {
		check("ssl_client_certificate", srv.SSLClientCertificate, l.client)
		check("ssl_trusted_certificate", srv.SSLTrustedCertificate, l.trusted)
	}
	check("ssl_crl", srv.SSLCRL, l.crl)
}

// resolveSNI makes the sni_certificates paths absolute (from the file's
// directory) and checks that every pair loads.
func resolveSNI(c *collector, e *env, srv *Server, o opt[[]SNICertificate], pwLine int) {
	if !o.set {
		return
	}
	for _, entry := range o.v {
		r := SNICertificate{
			Names:             append([]string(nil), entry.Names...),
			SSLCertificate:    absPaths(e.dir, entry.SSLCertificate),
			SSLCertificateKey: absPaths(e.dir, entry.SSLCertificateKey),
			Line:              entry.Line,
		}
		for i := range r.SSLCertificate {
			if err := e.checkPair(c, srv.SSLPasswordFile, pwLine, r.SSLCertificate[i], r.SSLCertificateKey[i]); err != nil {
				c.errorf(entry.Line, "sni_certificates: cannot load certificate %q with key %q: %v", entry.SSLCertificate[i], entry.SSLCertificateKey[i], err)
			}
		}
		srv.SNICertificates = append(srv.SNICertificates, r)
	}
}
