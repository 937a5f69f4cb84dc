package proxy_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"mailproxy/internal/mailtest"
)

const imapYAML = `
mail:
  auth_http: http://AUTH/auth
  auth_http_header: {X-Auth-Key: shared-secret}
  ssl_certificate: CERT
  ssl_certificate_key: KEY
servers:
  - protocol: imap
    starttls: on
    imap_auth: [plain, login]
    listen:
      - 127.0.0.1:0
      - {address: "127.0.0.1:0", ssl: true}
`

func startIMAPBackend(t *testing.T) *mailtest.IMAPBackend {
	t.Helper()
	b, err := mailtest.StartIMAPBackend("127.0.0.1:0", map[string]string{"alice": "secret"}, true)
	must(t, err)
	t.Cleanup(func() { b.Close() })
	return b
}

// TestIMAPEndToEnd logs in through the proxy with go-imap's client in
// every way a client can (LOGIN, AUTHENTICATE PLAIN, STARTTLS, implicit
// TLS), fetches messages, and checks the auth requests' headers.
func TestIMAPEndToEnd(t *testing.T) {
	be := startIMAPBackend(t)
	big := mailtest.SizedMessage("alice", 2<<20)
	_, err := be.Append("alice", big)
	must(t, err)
	auth := startAuth(t, okTo(be.Addr()))
	_, addrs := startProxy(t, imapYAML, auth.addr())
	tlsCfg := &tls.Config{InsecureSkipVerify: true}

	dials := map[string]func() (*imapclient.Client, error){
		"plain": func() (*imapclient.Client, error) { return imapclient.DialInsecure(addrs[0], nil) },
		"starttls": func() (*imapclient.Client, error) {
			return imapclient.DialStartTLS(addrs[0], &imapclient.Options{TLSConfig: tlsCfg})
		},
		"implicit": func() (*imapclient.Client, error) {
			return imapclient.DialTLS(addrs[1], &imapclient.Options{TLSConfig: tlsCfg})
		},
	}
	for name, dial := range dials {
		for _, mech := range []string{"login", "plain"} {
			t.Run(name+"-"+mech, func(t *testing.T) {
				c, err := dial()
				must(t, err)
				defer c.Close()
				must(t, c.WaitGreeting())
				if mech == "login" {
					must(t, c.Login("alice", "secret").Wait())
				} else {
					must(t, c.Authenticate(sasl.NewPlainClient("", "alice", "secret")))
				}
				sel, err := c.Select("INBOX", nil).Wait()
				must(t, err)
				if sel.NumMessages < 2 {
					t.Fatalf("INBOX has %d messages", sel.NumMessages)
				}
				bs := &imap.FetchItemBodySection{}
				msgs, err := c.Fetch(imap.SeqSetNum(sel.NumMessages), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{bs}}).Collect()
				must(t, err)
				got := msgs[0].FindBodySection(bs)
				if sha256.Sum256(got) != sha256.Sum256(big) {
					t.Fatalf("fetched %d bytes, want the %d-byte message", len(got), len(big))
				}
				must(t, c.Logout().Wait())
			})
		}
	}
	reqs := auth.requests()
	if len(reqs) != 6 {
		t.Fatalf("%d auth requests, want 6", len(reqs))
	}
	for _, r := range reqs {
		for _, h := range []string{"GET /auth HTTP/1.0\r\n", "Auth-Method: plain\r\n", "Auth-User: alice\r\n", "Auth-Pass: secret\r\n", "Auth-Protocol: imap\r\n", "Client-IP: 127.0.0.1\r\n", "X-Auth-Key: shared-secret\r\n\r\n"} {
			if !strings.Contains(r, h) {
				t.Errorf("auth request lacks %q:\n%s", h, r)
			}
		}
	}
	tlsReqs := 0
	for _, r := range reqs {
		if strings.Contains(r, "Auth-SSL: on\r\nAuth-SSL-Protocol: TLSv1.3\r\nAuth-SSL-Cipher: TLS_") {
			tlsReqs++
		}
	}
	if tlsReqs != 4 {
		t.Errorf("%d TLS auth requests, want 4", tlsReqs)
	}
}

// TestIMAPPipelinedAfterLogin checks that commands pipelined behind LOGIN
// reach the backend once the splice starts.
func TestIMAPPipelinedAfterLogin(t *testing.T) {
	be := startIMAPBackend(t)
	auth := startAuth(t, okTo(be.Addr()))
	_, addrs := startProxy(t, imapYAML, auth.addr())
	c := dialRaw(t, addrs[0])
	c.expect("* OK IMAP4 ready\r\n")
	c.send("a1 LOGIN alice secret\r\na2 SELECT INBOX\r\na3 LOGOUT\r\n")
	c.c.SetReadDeadline(deadline())
	var all bytes.Buffer
	all.ReadFrom(c.r)
	out := all.String()
	for _, want := range []string{"a1 OK", "a2 OK", "* BYE", "a3 OK"} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %q in %q", want, out)
		}
	}
}
