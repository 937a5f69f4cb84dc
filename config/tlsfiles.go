package config

import (
	mailtls "mailproxy/tls"
)

// tlsLines are the lines of the TLS keys whose files checkTLSFiles reads.
type tlsLines struct {
	tickets, client, trusted, crl int
	store                         int // ssl_session_store
}

// checkTLSFiles checks, for a server that uses TLS, what the server will
// load when it starts (the values that need no file, ssl_protocols,
// ssl_ciphers and ssl_ecdh_curve, are checked where they are written,
// whether a server uses TLS or not): the ticket key files,
// the CA files (when ssl_verify_client is not off: nginx loads them only
// then) and the CRL file, so that `mailproxy -t` reports them with their
// line.
func checkTLSFiles(c *collector, e *env, srv *Server, l tlsLines) {
	if (srv.SSLSessionTickets || srv.SSLSessionStore != "") && len(srv.SSLSessionTicketKey) > 0 {
		if _, err := e.tls.TicketKeys(srv.SSLSessionTicketKey); err != nil {
			c.errorf(l.tickets, "%v", err)
		}
	}
	cas := func(key, path string, line int) {
		if path == "" {
			return
		}
		if _, err := e.tls.Certificates(path); err != nil {
			c.errorf(line, "%s: %v", key, err)
		}
	}
	if srv.SSLVerifyClient != "off" {
		cas("ssl_client_certificate", srv.SSLClientCertificate, l.client)
		cas("ssl_trusted_certificate", srv.SSLTrustedCertificate, l.trusted)
	}
	if srv.SSLCRL != "" {
		if _, err := e.tls.CRLs(srv.SSLCRL); err != nil {
			c.errorf(l.crl, "ssl_crl: %v", err)
		}
	}
}

// buildTLS builds the TLS settings of every server that uses TLS, once
// the file has no other problem (as the server used to build them when
// it started), from what the checks loaded: e.tls reads no file twice.
// What only the build finds (e.g. an ssl_protocols range Go cannot
// honour) is reported at the server's line.
func buildTLS(c *collector, e *env, cfg *Config) {
	for _, srv := range cfg.Servers {
		if !srv.NeedsTLS() {
			continue
		}
		settings := srv.tlsSettings()
		if err := srv.sessionSettings(&settings); err != nil {
			c.errorf(srv.Line, "ssl_session_store: %v", err)
			continue
		}
		var err error
		if srv.TLS, srv.ClientAuth, srv.TLSSessions, err = e.tls.ServerConfigSessions(settings); err != nil {
			c.errorf(srv.Line, "%v", err)
		}
	}
}

// tlsSettings turns a server's ssl_* directives into mailtls settings
// (sessionSettings adds ssl_session_cache and ssl_session_store).
// ssl_prefer_server_ciphers has no counterpart: Go always prefers its own
// cipher order (README, "TLS").
func (srv *Server) tlsSettings() mailtls.Settings {
	s := mailtls.Settings{
		Certificates:          srv.SSLCertificate,
		Keys:                  srv.SSLCertificateKey,
		PasswordFile:          srv.SSLPasswordFile,
		Protocols:             srv.SSLProtocols,
		Ciphers:               srv.SSLCiphers,
		ECDHCurve:             srv.SSLECDHCurve,
		ALPN:                  alpn(srv.Protocol),
		DisableSessionTickets: !srv.SSLSessionTickets,
		SessionTicketKeys:     srv.SSLSessionTicketKey,
		SessionTimeout:        srv.SSLSessionTimeout,
		VerifyClient:          srv.SSLVerifyClient,
		VerifyDepth:           srv.SSLVerifyDepth,
		ClientCertificate:     srv.SSLClientCertificate,
		TrustedCertificate:    srv.SSLTrustedCertificate,
		CRL:                   srv.SSLCRL,
	}
	for _, e := range srv.SNICertificates {
		s.SNI = append(s.SNI, mailtls.NamedCertificates{Names: e.Names, Certificates: e.SSLCertificate, Keys: e.SSLCertificateKey})
	}
	return s
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

// alpn is the protocol's ALPN identifier (the IANA registry's names).
func alpn(protocol string) string {
	if protocol == "sieve" {
		return "managesieve"
	}
	return protocol
}
