package proxy_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509/pkix"
	"strings"
	"testing"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/pkitest"
	mailtls "mailproxy/tls"
)

// certYAML serves the three protocols, each with STARTTLS and implicit
// TLS, requiring client certificates from @CA@ checked against @CRL@.
const certYAML = `
mail:
  auth_http: http://AUTH/auth
  ssl_certificate: CERT
  ssl_certificate_key: KEY
  ssl_verify_client: @MODE@
  ssl_client_certificate: @CA@
  ssl_crl: @CRL@
  auth_http_pass_client_cert: on
  server_name: mx.example.com
  timeout: 5s
servers:
  - protocol: imap
    starttls: on
    imap_auth: [plain, external]
    listen: [127.0.0.1:0, {address: "127.0.0.1:0", ssl: true}]
  - protocol: pop3
    starttls: on
    pop3_auth: [plain, external]
    listen: [127.0.0.1:0, {address: "127.0.0.1:0", ssl: true}]
  - protocol: smtp
    starttls: on
    smtp_auth: [plain, external]
    listen: [127.0.0.1:0, {address: "127.0.0.1:0", ssl: true}]
`

// clientPKI is the client-certificate world of these tests: a CA with a
// CRL, and one certificate of each kind.
type clientPKI struct {
	ca, crl                          string // files
	valid, expired, unknown, revoked *pkitest.Cert
}

func newClientPKI(t *testing.T) *clientPKI {
	root := pkitest.NewRoot(t, "Mail Client CA")
	other := pkitest.NewRoot(t, "Someone Else's CA")
	revoked := root.Issue(pkitest.Spec{Subject: pkix.Name{CommonName: "mallory"}})
	dir := t.TempDir()
	return &clientPKI{
		ca:  pkitest.Write(t, dir, "ca.pem", root.PEM()),
		crl: pkitest.Write(t, dir, "crl.pem", root.CRL(time.Time{}, time.Time{}, revoked.Cert)),
		valid: root.Issue(pkitest.Spec{Subject: pkix.Name{CommonName: "Jürgen Ämter", Organization: []string{"Example, Inc."},
			OrganizationalUnit: []string{"Mail"}}}),
		expired: root.Issue(pkitest.Spec{Subject: pkix.Name{CommonName: "old"}, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}),
		unknown: other.Issue(pkitest.Spec{Subject: pkix.Name{CommonName: "stranger"}}),
		revoked: revoked,
	}
}

func (p *clientPKI) yaml(mode string) string {
	return strings.NewReplacer("@MODE@", mode, "@CA@", p.ca, "@CRL@", p.crl).Replace(certYAML)
}

// protoScript drives one protocol in raw bytes.
type protoScript struct {
	name      string
	greeting  string
	starttls  func(c *rawConn)
	login     func(c *rawConn) // a LOGIN the auth service answers "Nope"
	certError string
	noCert    string
}

var scripts = []protoScript{
	{
		name:      "imap",
		greeting:  "* OK IMAP4 ready\r\n",
		starttls:  func(c *rawConn) { c.send("s STARTTLS\r\n"); c.expect("s OK completed\r\n") },
		login:     func(c *rawConn) { c.send("a LOGIN alice secret\r\n"); c.expect("a NO Nope\r\n") },
		certError: "* BYE SSL certificate error\r\n",
		noCert:    "* BYE No required SSL certificate\r\n",
	},
	{
		name:     "pop3",
		greeting: "+OK POP3 ready\r\n",
		starttls: func(c *rawConn) { c.send("STLS\r\n"); c.expect("+OK\r\n") },
		login: func(c *rawConn) {
			c.send("USER alice\r\n")
			c.expect("+OK\r\n")
			c.send("PASS secret\r\n")
			c.expect("-ERR Nope\r\n")
		},
		certError: "-ERR SSL certificate error\r\n",
		noCert:    "-ERR No required SSL certificate\r\n",
	},
	{
		name:     "smtp",
		greeting: "220 mx.example.com ESMTP ready\r\n",
		starttls: func(c *rawConn) { ehlo(c); c.send("STARTTLS\r\n"); c.expect("220 2.0.0 Start TLS\r\n") },
		login: func(c *rawConn) {
			ehlo(c)
			c.send("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")
			c.expect("535 5.7.0 Nope\r\n")
		},
		certError: "421 4.7.1 SSL certificate error\r\n",
		noCert:    "421 4.7.1 No required SSL certificate\r\n",
	},
}

// ehlo sends EHLO and reads the whole reply.
func ehlo(c *rawConn) {
	c.t.Helper()
	c.send("EHLO client.example\r\n")
	for {
		c.c.SetReadDeadline(deadline())
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("EHLO reply: %v", err)
		}
		if strings.HasPrefix(line, "250 ") {
			return
		}
	}
}

// clientTLS presents cert (none when nil), whatever CAs the server names.
func clientTLS(cert *pkitest.Cert) *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if cert == nil {
			return &tls.Certificate{}, nil
		}
		tc := cert.TLS()
		return &tc, nil
	}}
}

// connectTLS opens a TLS session with the server at addrs[2i] (STARTTLS)
// or addrs[2i+1] (implicit TLS) and returns the client on the TLS layer,
// the greeting not yet read for implicit TLS.
func connectTLS(t *testing.T, s protoScript, addr string, starttls bool, cert *pkitest.Cert) *rawConn {
	t.Helper()
	c := dialRaw(t, addr)
	if starttls {
		c.expect(s.greeting)
		s.starttls(c)
	}
	tc := tls.Client(c.c, clientTLS(cert))
	tc.SetDeadline(deadline())
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	t.Cleanup(func() { tc.Close() })
	return &rawConn{t: t, c: tc, r: bufio.NewReader(tc)}
}

// TestClientCertificates: every protocol, over STARTTLS and implicit TLS,
// with a certificate that is absent, valid, expired, from an unknown CA
// or revoked, under `ssl_verify_client on` (SPEC §8.3): the client gets
// the protocol's certificate reply and the auth service is never asked,
// or the session goes on and the auth request carries the certificate.
func TestClientCertificates(t *testing.T) {
	pki := newClientPKI(t)
	auth := startAuth(t, failAuth)
	_, addrs := startProxy(t, pki.yaml("on"), auth.addr())
	certs := []struct {
		name   string
		cert   *pkitest.Cert
		refuse func(protoScript) string
	}{
		{"absent", nil, func(s protoScript) string { return s.noCert }},
		// As openssl s_client does: commands sent right after the
		// handshake, unread when the proxy refuses and closes; the reply
		// must not be held back (Nagle) and lost to the reset.
		{"absent-pipelined", nil, func(s protoScript) string { return s.noCert }},
		{"valid", pki.valid, nil},
		{"expired", pki.expired, func(s protoScript) string { return s.certError }},
		{"unknown-ca", pki.unknown, func(s protoScript) string { return s.certError }},
		{"revoked", pki.revoked, func(s protoScript) string { return s.certError }},
	}
	for i, s := range scripts {
		for _, starttls := range []bool{true, false} {
			for _, cc := range certs {
				mode := "implicit"
				addr := addrs[2*i+1]
				if starttls {
					mode, addr = "starttls", addrs[2*i]
				}
				t.Run(s.name+"-"+mode+"-"+cc.name, func(t *testing.T) {
					before := len(auth.requests())
					c := connectTLS(t, s, addr, starttls, cc.cert)
					if strings.HasSuffix(cc.name, "-pipelined") {
						c.send("a LOGIN alice secret\r\nb NOOP\r\nc LOGOUT\r\n")
					}
					if cc.refuse != nil {
						c.expect(cc.refuse(s))
						c.expectClosed()
						if len(auth.requests()) != before {
							t.Fatal("the auth service was asked")
						}
						return
					}
					if !starttls {
						c.expect(s.greeting)
					}
					s.login(c)
					reqs := auth.requests()
					checkCertHeaders(t, reqs[len(reqs)-1], cc.cert)
				})
			}
		}
	}
}

// checkCertHeaders checks the Auth-SSL-* lines of an auth request for a
// session that presented cert, verified.
func checkCertHeaders(t *testing.T, req string, cert *pkitest.Cert) {
	t.Helper()
	f := mailtls.Facts(cert.Cert)
	want := "Auth-SSL: on\r\nAuth-SSL-Protocol: TLSv1.3\r\nAuth-SSL-Cipher: TLS_" // cipher varies with the CPU
	if !strings.Contains(req, want) {
		t.Fatalf("request lacks %q:\n%s", want, req)
	}
	want = "\r\nAuth-SSL-Verify: SUCCESS\r\nAuth-SSL-Subject: " + f.Subject + "\r\nAuth-SSL-Issuer: CN=Mail Client CA,O=mailproxy test\r\n" +
		"Auth-SSL-Serial: " + f.Serial + "\r\nAuth-SSL-Fingerprint: " + f.Fingerprint + "\r\nAuth-SSL-Cert: " + authhttp.Escape(f.PEM) + "\r\n"
	if !strings.Contains(req, want) {
		t.Fatalf("request lacks %q:\n%s", want, req)
	}
	if f.Subject != `CN=J\C3\BCrgen \C3\84mter,OU=Mail,O=Example\, Inc.` {
		t.Fatalf("subject %q", f.Subject)
	}
}

// TestClientCertificateOptional: `optional` lets a client without a
// certificate in (Auth-SSL-Verify: NONE, no certificate details);
// `optional_no_ca` lets an unknown issuer in with FAILED:… and the
// certificate's details, but not an expired certificate.
func TestClientCertificateOptional(t *testing.T) {
	pki := newClientPKI(t)
	s := scripts[0]
	for _, c := range []struct {
		mode   string
		cert   *pkitest.Cert
		verify string
		refuse bool
	}{
		{"optional", nil, "NONE", false},
		{"optional", pki.unknown, "", true},
		{"optional_no_ca", pki.unknown, "FAILED:unable to verify the first certificate", false},
		{"optional_no_ca", pki.expired, "", true},
	} {
		auth := startAuth(t, failAuth)
		_, addrs := startProxy(t, pki.yaml(c.mode), auth.addr())
		conn := connectTLS(t, s, addrs[1], false, c.cert)
		if c.refuse {
			conn.expect(s.certError)
			conn.expectClosed()
			continue
		}
		conn.expect(s.greeting)
		s.login(conn)
		req := auth.requests()[0]
		if !strings.Contains(req, "\r\nAuth-SSL-Verify: "+c.verify+"\r\n") {
			t.Errorf("%s: request:\n%s", c.mode, req)
		}
		if hasSubject := strings.Contains(req, "Auth-SSL-Subject: CN=stranger"); hasSubject != (c.cert != nil) {
			t.Errorf("%s: subject sent %v:\n%s", c.mode, hasSubject, req)
		}
	}
}

// TestNoCertificateHeadersWhenVerifyOff: with ssl_verify_client off (the
// default) only Auth-SSL, -Protocol and -Cipher are sent.
func TestNoCertificateHeadersWhenVerifyOff(t *testing.T) {
	auth := startAuth(t, failAuth)
	_, addrs := startProxy(t, imapYAML, auth.addr())
	c := connectTLS(t, scripts[0], addrs[1], false, nil)
	c.expect("* OK IMAP4 ready\r\n")
	scripts[0].login(c)
	if req := auth.requests()[0]; strings.Contains(req, "Auth-SSL-Verify") || !strings.Contains(req, "Auth-SSL-Cipher: ") {
		t.Fatalf("request:\n%s", req)
	}
}

// TestClientCertificateDepth: a chain with more intermediates than
// ssl_verify_depth allows is refused; with a deep enough setting the same
// chain is accepted.
func TestClientCertificateDepth(t *testing.T) {
	root := pkitest.NewRoot(t, "Deep Root")
	i1 := root.Intermediate("Level 1 CA")
	i2 := i1.Intermediate("Level 2 CA")
	leaf := i2.Issue(pkitest.Spec{Subject: pkix.Name{CommonName: "deep"}})
	ca := pkitest.Write(t, t.TempDir(), "ca.pem", root.PEM())
	s := scripts[0]
	for depth, refused := range map[string]bool{"1": true, "2": false} {
		text := strings.NewReplacer("@MODE@", "on", "@CA@", ca, "  ssl_crl: @CRL@\n", "  ssl_verify_depth: "+depth+"\n").Replace(certYAML)
		auth := startAuth(t, failAuth)
		_, addrs := startProxy(t, text, auth.addr())
		c := dialRaw(t, addrs[1])
		tc := tls.Client(c.c, &tls.Config{InsecureSkipVerify: true, GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			chain := leaf.TLS(i2.Cert, i1.Cert)
			return &chain, nil
		}})
		must(t, tc.Handshake())
		c = &rawConn{t: t, c: tc, r: bufio.NewReader(tc)}
		if refused {
			c.expect(s.certError)
			c.expectClosed()
			continue
		}
		c.expect(s.greeting)
		s.login(c)
		if req := auth.requests()[0]; !strings.Contains(req, "Auth-SSL-Verify: SUCCESS\r\nAuth-SSL-Subject: CN=deep\r\nAuth-SSL-Issuer: CN=Level 2 CA,O=mailproxy test\r\n") {
			t.Fatalf("depth %s: request:\n%s", depth, req)
		}
	}
}
