package config

import (
	"path/filepath"
	"slices"
	"time"
)

// nginx defaults (SPEC.md §1) for values not set at either level.
const (
	defaultTimeout          = 60 * time.Second
	defaultMaxErrors        = 5
	defaultAuthHTTPTimeout  = 60 * time.Second
	defaultProxyTimeout     = 24 * time.Hour
	defaultProxyBuffer      = 4096
	defaultIMAPClientBuffer = 4096
	defaultSMTPClientBuffer = 4096
	defaultResolverTimeout  = 30 * time.Second
)

var (
	defaultIMAPAuth         = []string{"plain"}
	defaultIMAPCapabilities = []string{"IMAP4", "IMAP4rev1", "UIDPLUS"}
	defaultSSLProtocols     = []string{"TLSv1.2", "TLSv1.3"}
	defaultPOP3Auth         = []string{"plain"}
	defaultSieveAuth        = []string{"plain"}
	defaultPOP3Capabilities = []string{"TOP", "USER", "UIDL"}
	defaultSMTPAuth         = []string{"plain", "login"}
)

// env is what resolving the servers of one file needs besides the file.
type env struct {
	hostname string             // default server_name
	dir      string             // directory of the file, base of relative paths
	pairs    map[[3]string]bool // certificate, key, password file already checked
	// passwords caches ssl_password_file contents by path (nil slice
	// and false: the file could not be read, already reported).
	passwords map[string]passwordFile
	tls       tlsLoader // reads each TLS file of this Parse once
	listens   listenSet // every listen address seen so far
	// checkedLogs are the error_log files whose directory was checked.
	checkedLogs map[string]bool
	zones       map[string]LimitConnZone // limit_conn_zone entries by name
}

// resolveServer applies inheritance (server value, else mail value, else
// the nginx default; lists are never merged) to the server entry at line
// and checks what can only be checked on the merged values.
func resolveServer(c *collector, e *env, line int, m, s settings) *Server {
	srv := &Server{Line: line, Listen: s.listen.v}
	if !s.listen.set && !s.listen.bad {
		c.errorf(line, `no "listen" is defined for server`)
	}
	for _, l := range srv.Listen {
		e.listens.add(c, l)
	}
	srv.Protocol = s.protocol.v
	if !s.protocol.set && !s.protocol.bad {
		for _, l := range srv.Listen {
			if p, ok := wellKnownPorts[listenPort(l.Address)]; ok {
				srv.Protocol = p
				break
			}
		}
		if srv.Protocol == "" && s.listen.set {
			c.errorf(line, "unknown mail protocol for server")
		}
	}

	srv.ServerName = s.serverName.or(m.serverName).get("")
	if srv.ServerName == "" {
		srv.ServerName = e.hostname
	}
	srv.Timeout = s.timeout.or(m.timeout).get(defaultTimeout)
	srv.MaxErrors = s.maxErrors.or(m.maxErrors).get(defaultMaxErrors)

	auth := s.authHTTP.or(m.authHTTP)
	if !auth.set && !auth.bad {
		c.errorf(line, `no "auth_http" is defined for server`)
	}
	if len(auth.v) > 0 {
		srv.AuthHTTP = auth.v[0]
	}
	srv.AuthHTTPHeader = slices.Clone(s.authHTTPHeader.or(m.authHTTPHeader).v)
	srv.AuthHTTPTimeout = s.authHTTPTimeout.or(m.authHTTPTimeout).get(defaultAuthHTTPTimeout)

	srv.ProxyBuffer = s.proxyBuffer.or(m.proxyBuffer).get(defaultProxyBuffer)
	srv.ProxyTimeout = s.proxyTimeout.or(m.proxyTimeout).get(defaultProxyTimeout)
	srv.ProxyPassErrorMessage = s.proxyPassErrorMessage.or(m.proxyPassErrorMessage).get(false)
	srv.ProxyProtocol = s.proxyProtocol.or(m.proxyProtocol).get("")

	srv.SetRealIPFrom = slices.Clone(s.setRealIPFrom.or(m.setRealIPFrom).v)

	srv.SSLProtocols = slices.Clone(s.sslProtocols.or(m.sslProtocols).get(defaultSSLProtocols))
	srv.SSLCiphers = s.sslCiphers.or(m.sslCiphers).get("")
	startTLS := s.startTLS.or(m.startTLS)
	srv.StartTLS = startTLS.get(StartTLSOff)
	pw := s.sslPasswordFile.or(m.sslPasswordFile)
	srv.SSLPasswordFile = absPath(e.dir, pw.get(""))
	resolveCertificates(c, e, srv, s.sslCertificate.or(m.sslCertificate), s.sslCertificateKey.or(m.sslCertificateKey), startTLS, pw.line)
	resolveSNI(c, e, srv, s.sniCertificates.or(m.sniCertificates), pw.line)

	srv.IMAPAuth = slices.Clone(s.imapAuth.or(m.imapAuth).get(defaultIMAPAuth))
	srv.IMAPCapabilities = slices.Clone(s.imapCapabilities.or(m.imapCapabilities).get(defaultIMAPCapabilities))
	srv.IMAPClientBuffer = s.imapClientBuffer.or(m.imapClientBuffer).get(defaultIMAPClientBuffer)

	srv.POP3Auth = slices.Clone(s.pop3Auth.or(m.pop3Auth).get(defaultPOP3Auth))
	srv.POP3Capabilities = slices.Clone(s.pop3Capabilities.or(m.pop3Capabilities).get(defaultPOP3Capabilities))

	srv.SieveAuth = slices.Clone(s.sieveAuth.or(m.sieveAuth).get(defaultSieveAuth))
	srv.SieveCapabilities = slices.Clone(s.sieveCapabilities.or(m.sieveCapabilities).get(nil))
	srv.SieveClientBuffer = s.sieveClientBuffer.or(m.sieveClientBuffer).get(defaultIMAPClientBuffer)

	srv.SMTPAuth = slices.Clone(s.smtpAuth.or(m.smtpAuth).get(defaultSMTPAuth))
	srv.SMTPCapabilities = slices.Clone(s.smtpCapabilities.or(m.smtpCapabilities).get(nil))
	srv.SMTPClientBuffer = s.smtpClientBuffer.or(m.smtpClientBuffer).get(defaultSMTPClientBuffer)
	srv.SMTPGreetingDelay = s.smtpGreetingDelay.or(m.smtpGreetingDelay).get(0)
	srv.XClient = s.xclient.or(m.xclient).get(true)
	srv.ProxySMTPAuth = s.proxySMTPAuth.or(m.proxySMTPAuth).get(false)

	res := s.resolver.or(m.resolver).v
	srv.Resolver = slices.Clone(res.servers)
	srv.ResolverIPv4, srv.ResolverIPv6 = !res.noIPv4, !res.noIPv6
	srv.Upstreams.ResolverValid = res.valid
	srv.ResolverTimeout = s.resolverTimeout.or(m.resolverTimeout).get(defaultResolverTimeout)

	srv.SSLPreferServerCiphers = s.sslPreferServerCiphers.or(m.sslPreferServerCiphers).get(false)
	srv.SSLECDHCurve = s.sslECDHCurve.or(m.sslECDHCurve).get("auto")
	srv.SSLSessionCache = slices.Clone(s.sslSessionCache.or(m.sslSessionCache).get([]string{"none"}))
	srv.SSLSessionTimeout = s.sslSessionTimeout.or(m.sslSessionTimeout).get(5 * time.Minute)
	srv.SSLSessionTickets = s.sslSessionTickets.or(m.sslSessionTickets).get(true)
	srv.SSLSessionTicketKey = absPaths(e.dir, s.sslSessionTicketKey.or(m.sslSessionTicketKey).v)
	verify := s.sslVerifyClient.or(m.sslVerifyClient)
	srv.SSLVerifyClient = verify.get("off")
	srv.SSLVerifyDepth = s.sslVerifyDepth.or(m.sslVerifyDepth).get(1)
	srv.SSLClientCertificate = absPath(e.dir, s.sslClientCertificate.or(m.sslClientCertificate).get(""))
	srv.SSLTrustedCertificate = absPath(e.dir, s.sslTrustedCertificate.or(m.sslTrustedCertificate).get(""))
	srv.SSLCRL = absPath(e.dir, s.sslCRL.or(m.sslCRL).get(""))
	srv.AuthHTTPPassClientCert = s.authHTTPPassClientCert.or(m.authHTTPPassClientCert).get(false)
	srv.ProxyProtocolTLVs = s.proxyProtocolTLVs.or(m.proxyProtocolTLVs).get(false)
	srv.AuthHTTPKeepalive = s.authHTTPKeepalive.or(m.authHTTPKeepalive).get(0)
	srv.AuthHTTPKeepaliveTimeout = s.authHTTPKeepaliveTime.or(m.authHTTPKeepaliveTime).get(0)
	srv.ErrorLog = resolveLogs(c, e, "error_log", s.errorLog.or(m.errorLog).v)
	srv.IMAPID = slices.Clone(s.imapID.or(m.imapID).v)
	forward := s.proxyForward.or(m.proxyForward)
	srv.ProxyForward = forward.get("")
	checkProxyForward(c, srv, forward.line)
	srv.AuthHTTPPassClientDetails = s.authHTTPPassClientDetails.or(m.authHTTPPassClientDetails).get(false)
	resolveUpstreams(c, e, srv, auth, s.up.or(m.up))
	resolveLimits(c, e, srv, m, s)
	store := s.sslSessionStore.or(m.sslSessionStore)
	srv.SSLSessionStore = store.get("")
	checkSessionStore(c, srv, store.line)
	if (srv.SSLVerifyClient == "on" || srv.SSLVerifyClient == "optional") && srv.SSLClientCertificate == "" && srv.SSLTrustedCertificate == "" {
		c.errorf(verify.line, `no ssl_client_certificate or ssl_trusted_certificate for ssl_verify_client %q`, srv.SSLVerifyClient)
	}
	if srv.NeedsTLS() {
		checkTLSFiles(c, e, srv, tlsLines{
			store:   store.line,
			tickets: s.sslSessionTicketKey.or(m.sslSessionTicketKey).line,
			client:  s.sslClientCertificate.or(m.sslClientCertificate).line,
			trusted: s.sslTrustedCertificate.or(m.sslTrustedCertificate).line,
			crl:     s.sslCRL.or(m.sslCRL).line,
		})
	}
	return srv
}

// resolveCertificates sets the certificate paths of srv (relative paths are
// taken from the directory of the file, as nginx takes them from its
// configuration prefix), requires a certificate when TLS is used, requires
// one key per certificate and checks that every pair loads.
func resolveCertificates(c *collector, e *env, srv *Server, cert, key opt[[]string], startTLS opt[StartTLS], pwLine int) {
	srv.SSLCertificate = absPaths(e.dir, cert.v)
	srv.SSLCertificateKey = absPaths(e.dir, key.v)
	if cert.bad || key.bad {
		return
	}
	if !cert.set {
		for _, l := range srv.Listen {
			if l.SSL {
				c.errorf(l.Line, `no "ssl_certificate" is defined for the "listen ... ssl" directive`)
			}
		}
		if srv.StartTLS != StartTLSOff {
			c.errorf(startTLS.line, `no "ssl_certificate" is defined for the "starttls" directive`)
		}
	}
	certs, keys := srv.SSLCertificate, srv.SSLCertificateKey
	switch {
	case len(keys) < len(certs):
		c.errorf(cert.line, `no "ssl_certificate_key" is defined for certificate %q`, cert.v[len(keys)])
	case len(keys) > len(certs):
		c.errorf(key.line, `no "ssl_certificate" is defined for key %q`, key.v[len(certs)])
	default:
		for i := range certs {
			if err := e.checkPair(c, srv.SSLPasswordFile, pwLine, certs[i], keys[i]); err != nil {
				c.errorf(cert.line, "ssl_certificate: cannot load certificate %q with key %q: %v", cert.v[i], key.v[i], err)
			}
		}
	}
}

// absPath is absPaths for one optional path ("" stays "").
func absPath(dir, p string) string {
	if p == "" {
		return ""
	}
	return absPaths(dir, []string{p})[0]
}

// absPaths joins relative paths to dir; nil stays nil.
func absPaths(dir string, paths []string) []string {
	if paths == nil {
		return nil
	}
	out := make([]string, len(paths))
	for i, p := range paths {
		if filepath.IsAbs(p) {
			out[i] = p
		} else {
			out[i] = filepath.Join(dir, p)
		}
	}
	return out
}
