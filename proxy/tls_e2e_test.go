package proxy_test

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailproxy/config"
	"mailproxy/internal/pkitest"
	"mailproxy/proxy"
)

// serverCerts writes server certificates for the names given and returns
// a replacer of @NAME.crt@ / @NAME.key@ placeholders (dots kept).
func serverCerts(t *testing.T, names map[string]bool) *strings.Replacer {
	dir := t.TempDir()
	var pairs []string
	for name, useRSA := range names {
		c := pkitest.SelfSigned(t, pkitest.Spec{Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}, Server: true, RSA: useRSA})
		pairs = append(pairs, "@"+name+".crt@", pkitest.Write(t, dir, name+".crt", c.CertPEM), "@"+name+".key@", pkitest.Write(t, dir, name+".key", c.KeyPEM))
	}
	return strings.NewReplacer(pairs...)
}

const sniYAML = `
servers:
  - protocol: imap
    auth_http: http://AUTH/auth
    ssl_certificate: [@rsa.example.com.crt@, @ecdsa.example.com.crt@]
    ssl_certificate_key: [@rsa.example.com.key@, @ecdsa.example.com.key@]
    sni_certificates:
      - names: [mail.example.org, "*.example.net"]
        ssl_certificate: @mail.example.org.crt@
        ssl_certificate_key: @mail.example.org.key@
    listen: [{address: "127.0.0.1:0", ssl: true}]
`

// TestSNIAndKeyTypes: the certificate follows the client's server name
// (sni_certificates, exact and wildcard), and without a match the
// server's own pair, RSA or ECDSA by what the client supports.
func TestSNIAndKeyTypes(t *testing.T) {
	r := serverCerts(t, map[string]bool{"rsa.example.com": true, "ecdsa.example.com": false, "mail.example.org": false})
	auth := startAuth(t, failAuth)
	_, addrs := startProxy(t, r.Replace(sniYAML), auth.addr())
	for _, c := range []struct {
		sni    string
		suites []uint16
		want   string
	}{
		{"mail.example.org", nil, "mail.example.org"},
		{"imap.example.net", nil, "mail.example.org"},
		{"other.example.com", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, "rsa.example.com"},
		{"", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}, "rsa.example.com"},
		{"", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, "ecdsa.example.com"},
		{"other.example.com", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, "ecdsa.example.com"},
	} {
		cfg := &tls.Config{InsecureSkipVerify: true, ServerName: c.sni}
		if c.suites != nil {
			cfg.MaxVersion, cfg.CipherSuites = tls.VersionTLS12, c.suites
		}
		conn, err := tls.Dial("tcp", addrs[0], cfg)
		must(t, err)
		leaf := conn.ConnectionState().PeerCertificates[0]
		conn.Close()
		if leaf.Subject.CommonName != c.want {
			t.Errorf("SNI %q suites %v: got %s, want %s", c.sni, c.suites, leaf.Subject.CommonName, c.want)
		}
		if _, isRSA := leaf.PublicKey.(*rsa.PublicKey); isRSA != (c.want == "rsa.example.com") {
			t.Errorf("SNI %q: key type", c.sni)
		}
	}
}

const handshakeYAML = `
servers:
  - protocol: imap
    auth_http: http://AUTH/auth
    ssl_certificate: CERT
    ssl_certificate_key: KEY
    timeout: 1s
    starttls: on
    listen:
      - {address: "127.0.0.1:0", ssl: true}
      - 127.0.0.1:0
      - {address: "127.0.0.1:0", proxy_protocol: true}
`

// TestHandshakeFaults: a handshake that never completes ends after
// `timeout`; bytes that are not a ClientHello (implicit TLS, or after
// STARTTLS) end the connection without a reply.
func TestHandshakeFaults(t *testing.T) {
	auth := startAuth(t, failAuth)
	_, addrs := startProxy(t, handshakeYAML, auth.addr())

	for name, send := range map[string]string{
		"silent":          "",
		"partial hello":   "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
		"record too long": "\x16\x03\x01\xff\xff",
	} {
		start := time.Now()
		c := dialRaw(t, addrs[0])
		if send != "" {
			c.send(send)
		}
		expectClosedTLS(c)
		if d := time.Since(start); name != "record too long" && (d < 900*time.Millisecond || d > 4*time.Second) {
			t.Errorf("%s: closed after %v, want about the 1s timeout", name, d)
		}
	}

	c := dialRaw(t, addrs[0])
	c.send("a LOGIN alice secret\r\n")
	expectClosedTLS(c)

	c = dialRaw(t, addrs[1])
	c.expect("* OK IMAP4 ready\r\n")
	c.send("s STARTTLS\r\n")
	c.expect("s OK completed\r\n")
	c.send("GET / HTTP/1.0\r\n\r\n")
	expectClosedTLS(c)

	c = dialRaw(t, addrs[1])
	c.expect("* OK IMAP4 ready\r\n")
	c.send("s STARTTLS\r\n")
	c.expect("s OK completed\r\n")
	start := time.Now()
	c.expectClosed()
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("STARTTLS without a handshake: closed after %v", d)
	}
}

// expectClosedTLS checks that the proxy closes the connection having
// sent nothing but, perhaps, one TLS alert record.
func expectClosedTLS(c *rawConn) {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c.r)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		c.t.Fatal("expected close, connection still open")
	}
	if len(got) > 0 && (got[0] != 0x15 || len(got) != 7) {
		c.t.Fatalf("expected close or a TLS alert, got %q", got)
	}
}

// v2Header is a PROXY v2 header for TCP4 192.0.2.1:123 → 192.0.2.2:143
// followed by tlvLen bytes of TLVs (NOOP type 0x04).
func v2Header(tlvLen int) []byte {
	b := []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11")
	b = binary.BigEndian.AppendUint16(b, uint16(12+tlvLen))
	b = append(b, 192, 0, 2, 1, 192, 0, 2, 2, 0, 123, 0, 143)
	for tlvLen > 0 {
		n := min(tlvLen-3, 0xffff)
		b = append(b, 0x04)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
		b = append(b, make([]byte, n)...)
		tlvLen -= 3 + n
	}
	return b
}

// TestInboundV2TLVBlocks: TLVs are skipped when the header fits nginx's
// 4096-byte read; a header announcing more is refused without a reply.
func TestInboundV2TLVBlocks(t *testing.T) {
	auth := startAuth(t, failAuth)
	_, addrs := startProxy(t, handshakeYAML, auth.addr())
	c := dialRaw(t, addrs[2])
	c.send(string(v2Header(4096 - 28)))
	c.expect("* OK IMAP4 ready\r\n")
	c.send("a LOGIN u p\r\n")
	c.expect("a NO Nope\r\n")
	if req := auth.requests()[0]; !strings.Contains(req, "Proxy-Protocol-Addr: 192.0.2.1\r\n") {
		t.Fatalf("request:\n%s", req)
	}
	c = dialRaw(t, addrs[2])
	c.send(string(v2Header(5000)))
	c.expectClosed()
}

const ticketYAML = `
servers:
  - protocol: imap
    auth_http: http://AUTH/auth
    ssl_certificate: CERT
    ssl_certificate_key: KEY
    ssl_session_ticket_key: @TICKETS@
    listen: [{address: "@ADDR@", ssl: true}]
`

// TestTicketsSurviveReload: with ssl_session_ticket_key, a session from
// before a reload (which rebuilds every TLS setting) resumes after it; a
// reload whose ticket key file turned bad fails and changes nothing.
func TestTicketsSurviveReload(t *testing.T) {
	auth := startAuth(t, failAuth)
	dir := t.TempDir()
	keys := pkitest.Write(t, dir, "tickets.key", []byte(strings.Repeat("k", 80)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String() // a fixed address, so that the reload keeps the socket
	ln.Close()
	text := strings.NewReplacer("@TICKETS@", keys, "@ADDR@", addr).Replace(ticketYAML)
	srv, addrs := startProxy(t, text, auth.addr())
	cli := &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example", ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	dial := func() bool {
		t.Helper()
		c, err := tls.Dial("tcp", addrs[0], cli)
		must(t, err)
		defer c.Close()
		c.SetDeadline(deadline())
		buf := make([]byte, 64)
		n, err := c.Read(buf) // the greeting; a TLS 1.3 ticket arrives before it
		if err != nil || !strings.HasPrefix(string(buf[:n]), "* OK") {
			t.Fatalf("greeting %q %v", buf[:n], err)
		}
		return c.ConnectionState().DidResume
	}
	if dial() {
		t.Fatal("first session resumed")
	}
	reload := func() error {
		t.Helper()
		d := t.TempDir()
		cert := pkitest.SelfSigned(t, pkitest.Spec{Server: true})
		r := strings.NewReplacer("AUTH", auth.addr(), "CERT", pkitest.Write(t, d, "c.pem", cert.CertPEM), "KEY", pkitest.Write(t, d, "k.pem", cert.KeyPEM))
		cfg, err := config.Parse(filepath.Join(d, "r.yaml"), []byte(r.Replace(text)))
		if err != nil {
			return err
		}
		return srv.Reload(cfg)
	}
	must(t, reload())
	if !dial() {
		t.Fatal("a session from before the reload did not resume")
	}
	pkitest.Write(t, dir, "tickets.key", []byte("short"))
	if err := reload(); err == nil || !strings.Contains(err.Error(), "48 or 80 bytes") {
		t.Fatalf("a reload with a broken ticket key file: %v", err)
	}
	if !dial() {
		t.Fatal("the old configuration stopped resuming after a failed reload")
	}
}

// TestServesTLSLoadedByConfig: the server serves the TLS settings
// config.Parse built, reading no file itself: with every certificate
// file gone after the configuration was loaded, New, a handshake and a
// Reload to another loaded configuration all still work.
func TestServesTLSLoadedByConfig(t *testing.T) {
	auth := startAuth(t, failAuth)
	load := func(name string) *config.Config {
		t.Helper()
		dir := t.TempDir()
		c := pkitest.SelfSigned(t, pkitest.Spec{Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}, Server: true})
		r := strings.NewReplacer("AUTH", auth.addr(), "CERT", pkitest.Write(t, dir, "c.pem", c.CertPEM), "KEY", pkitest.Write(t, dir, "k.pem", c.KeyPEM))
		cfg, err := config.Parse(filepath.Join(dir, "m.yaml"), []byte(r.Replace(loadedTLSYAML)))
		must(t, err)
		must(t, os.RemoveAll(dir))
		return cfg
	}
	srv, err := proxy.New(load("first.example"), testLogger())
	must(t, err)
	must(t, srv.Listen())
	done := make(chan struct{})
	go func() { srv.Serve(); close(done) }()
	defer func() { srv.Close(); <-done }()
	served := func() string {
		t.Helper()
		c, err := tls.Dial("tcp", srv.Addrs()[0].String(), &tls.Config{InsecureSkipVerify: true}) // port 0: a reload binds anew
		must(t, err)
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := served(); got != "first.example" {
		t.Fatalf("served %q", got)
	}
	must(t, srv.Reload(load("second.example")))
	if got := served(); got != "second.example" {
		t.Fatalf("after the reload: served %q", got)
	}
}

const loadedTLSYAML = `
servers:
  - protocol: imap
    auth_http: http://AUTH/auth
    ssl_certificate: CERT
    ssl_certificate_key: KEY
    listen: [{address: "127.0.0.1:0", ssl: true}]
`
