package proxy_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/mailtest"
)

const pop3YAML = `
mail:
  auth_http: http://AUTH/auth
  ssl_certificate: CERT
  ssl_certificate_key: KEY
servers:
  - protocol: pop3
    starttls: on
    pop3_auth: [plain, apop, cram-md5]
    listen:
      - 127.0.0.1:0
      - {address: "127.0.0.1:0", ssl: true}
`

// pop3Client is a minimal POP3 client over a raw connection.
type pop3Client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func (p *pop3Client) line() string {
	p.t.Helper()
	p.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := p.r.ReadString('\n')
	if err != nil {
		p.t.Fatalf("read: %v (%q)", err, l)
	}
	return l
}

func (p *pop3Client) cmd(c, wantPrefix string) string {
	p.t.Helper()
	io.WriteString(p.c, c+"\r\n")
	l := p.line()
	if !strings.HasPrefix(l, wantPrefix) {
		p.t.Fatalf("%s: got %q, want %q…", c, l, wantPrefix)
	}
	return l
}

// retr fetches message n and undoes the dot-stuffing.
func (p *pop3Client) retr(n int) []byte {
	p.t.Helper()
	p.cmd(fmt.Sprintf("RETR %d", n), "+OK")
	var b bytes.Buffer
	for {
		l := p.line()
		if l == ".\r\n" {
			return b.Bytes()
		}
		b.WriteString(strings.TrimPrefix(l, "."))
	}
}

// TestPOP3EndToEnd logs in through the proxy over plain, STLS and implicit
// TLS with USER/PASS and AUTH PLAIN, retrieves a 2 MiB message and checks
// it byte for byte.
func TestPOP3EndToEnd(t *testing.T) {
	be, err := mailtest.StartPOP3Backend("127.0.0.1:0", map[string]string{"alice": "secret"}, false)
	must(t, err)
	t.Cleanup(func() { be.Close() })
	big := mailtest.SizedMessage("alice", 2<<20)
	_, err = be.Append("alice", big)
	must(t, err)
	auth := startAuth(t, okTo(be.Addr()))
	_, addrs := startProxy(t, pop3YAML, auth.addr())

	for _, mode := range []string{"plain", "stls", "implicit"} {
		for _, mech := range []string{"user", "plain"} {
			t.Run(mode+"-"+mech, func(t *testing.T) {
				addr := addrs[0]
				if mode == "implicit" {
					addr = addrs[1]
				}
				c, err := net.Dial("tcp", addr)
				must(t, err)
				defer c.Close()
				if mode == "implicit" {
					c = tls.Client(c, &tls.Config{InsecureSkipVerify: true})
				}
				p := &pop3Client{t: t, c: c, r: bufio.NewReader(c)}
				if l := p.line(); !strings.HasPrefix(l, "+OK POP3 ready <") {
					t.Fatalf("greeting %q", l)
				}
				if mode == "stls" {
					p.cmd("STLS", "+OK")
					tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
					p.c, p.r = tc, bufio.NewReader(tc)
				}
				if mech == "user" {
					p.cmd("USER alice", "+OK")
					p.cmd("PASS secret", "+OK")
				} else {
					p.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA==", "+OK")
				}
				p.cmd("STAT", "+OK 1 ")
				if got := p.retr(1); sha256.Sum256(got) != sha256.Sum256(big) {
					t.Fatalf("retrieved %d bytes, want the %d-byte message", len(got), len(big))
				}
				p.cmd("QUIT", "+OK")
			})
		}
	}
	for _, r := range auth.requests() {
		if !strings.Contains(r, "Auth-Protocol: pop3\r\n") || !strings.Contains(r, "Auth-User: alice\r\nAuth-Pass: secret\r\n") {
			t.Errorf("auth request:\n%s", r)
		}
	}
}
