package proxy_test

import (
	"net"
	"strings"
	"testing"

	"mailproxy/internal/mailtest"
)

// TestExternalWithClientCertificate: SASL EXTERNAL in every protocol, over
// implicit TLS and STARTTLS, with a verified client certificate. The auth
// service decides from Auth-SSL-Verify and Auth-SSL-Subject and names
// the backend account; the proxy logs in there and the client is in.
func TestExternalWithClientCertificate(t *testing.T) {
	pki := newClientPKI(t)
	imapBE := startIMAPBackend(t)
	pop3BE, err := mailtest.StartPOP3Backend("127.0.0.1:0", map[string]string{"alice": "secret"}, false)
	must(t, err)
	t.Cleanup(func() { pop3BE.Close() })
	smtpBE, err := mailtest.StartXCLIENTBackend("127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { smtpBE.Close() })
	backends := map[string]string{"imap": imapBE.Addr(), "pop3": pop3BE.Addr(), "smtp": smtpBE.Addr()}
	auth := startAuth(t, func(req string) string {
		if !strings.Contains(req, "Auth-Method: external\r\n") || !strings.Contains(req, "Auth-SSL-Verify: SUCCESS\r\n") ||
			!strings.Contains(req, `Auth-SSL-Subject: CN=J\C3\BCrgen \C3\84mter,OU=Mail,O=Example\, Inc.`+"\r\n") {
			return "HTTP/1.0 200 OK\r\nAuth-Status: Nope\r\n\r\n"
		}
		var proto string
		for _, p := range []string{"imap", "pop3", "smtp"} {
			if strings.Contains(req, "Auth-Protocol: "+p+"\r\n") {
				proto = p
			}
		}
		host, port, _ := net.SplitHostPort(backends[proto])
		return "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: " + host + "\r\nAuth-Port: " + port + "\r\nAuth-User: alice\r\nAuth-Pass: secret\r\n\r\n"
	})
	_, addrs := startProxy(t, pki.yaml("on"), auth.addr())
	externals := map[string]func(c *rawConn){
		"imap": func(c *rawConn) {
			c.send("a AUTHENTICATE EXTERNAL YWxpY2U=\r\n")
			c.c.SetReadDeadline(deadline())
			for {
				line, err := c.r.ReadString('\n')
				if err != nil || strings.HasPrefix(line, "a ") {
					if !strings.HasPrefix(line, "a OK") {
						t.Fatalf("IMAP EXTERNAL: %q %v", line, err)
					}
					return
				}
			}
		},
		"pop3": func(c *rawConn) {
			c.send("AUTH EXTERNAL YWxpY2U=\r\n")
			c.c.SetReadDeadline(deadline())
			if line, err := c.r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "+OK") {
				t.Fatalf("POP3 EXTERNAL: %q %v", line, err)
			}
			c.send("STAT\r\n")
			if line, _ := c.r.ReadString('\n'); line != "+OK 0 0\r\n" {
				t.Fatalf("POP3 STAT after EXTERNAL: %q", line)
			}
		},
		"smtp": func(c *rawConn) {
			ehlo(c)
			c.send("AUTH EXTERNAL YWxpY2U=\r\n")
			c.expect("235 2.0.0 OK\r\n")
		},
	}
	for i, s := range scripts {
		for _, starttls := range []bool{false, true} {
			addr := addrs[2*i+1]
			if starttls {
				addr = addrs[2*i]
			}
			c := connectTLS(t, s, addr, starttls, pki.valid)
			if !starttls {
				c.expect(s.greeting)
			}
			externals[s.name](c)
		}
	}
	if n := len(auth.requests()); n != 6 {
		t.Fatalf("%d auth requests, want 6", n)
	}
}
