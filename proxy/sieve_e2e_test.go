package proxy_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/mailtest"
)

const sieveYAML = `
mail:
  auth_http: http://AUTH/auth
  ssl_certificate: CERT
  ssl_certificate_key: KEY
servers:
  - protocol: sieve
    starttls: on
    sieve_auth: [plain, login]
    sieve_capabilities: [fileinto, vacation]
    listen:
      - 127.0.0.1:0
      - {address: "127.0.0.1:0", ssl: true}
`

// sieveClient is a minimal ManageSieve client: it sends lines and reads
// responses up to their OK, NO or BYE line.
type sieveClient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

// response reads lines up to and including the response line and returns
// them all.
func (s *sieveClient) response() string {
	s.t.Helper()
	var b strings.Builder
	for {
		s.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		l, err := s.r.ReadString('\n')
		b.WriteString(l)
		if err != nil {
			s.t.Fatalf("read: %v (%q)", err, b.String())
		}
		if strings.HasPrefix(l, "OK") || strings.HasPrefix(l, "NO") || strings.HasPrefix(l, "BYE") {
			return b.String()
		}
	}
}

func (s *sieveClient) cmd(line, wantLast string) string {
	s.t.Helper()
	io.WriteString(s.c, line+"\r\n")
	got := s.response()
	if lines := strings.SplitAfter(strings.TrimSuffix(got, "\r\n"), "\r\n"); !strings.HasPrefix(lines[len(lines)-1], wantLast) {
		s.t.Fatalf("%q: got %q, want a last line starting %q", line, got, wantLast)
	}
	return got
}

// TestSieveEndToEnd logs in through the proxy over STARTTLS and implicit
// TLS with PLAIN (initial response as a quoted string and as a literal)
// and LOGIN, then uploads, lists, activates, downloads and deletes a
// script on the in-memory ManageSieve backend; a wrong password is
// refused with the auth service's text.
func TestSieveEndToEnd(t *testing.T) {
	be, err := mailtest.StartSieveBackend("127.0.0.1:0", map[string]string{"alice": "secret"})
	must(t, err)
	t.Cleanup(func() { be.Close() })
	host, port, _ := net.SplitHostPort(be.Addr())
	auth := startAuth(t, func(req string) string {
		if !strings.Contains(req, "Auth-Pass: secret\r\n") {
			return "HTTP/1.0 200 OK\r\nAuth-Status: Invalid login or password\r\n\r\n"
		}
		return "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: " + host + "\r\nAuth-Port: " + port + "\r\n\r\n"
	})
	_, addrs := startProxy(t, sieveYAML, auth.addr())

	const script = "require \"fileinto\";\r\nfileinto \"Junk\";\r\n"
	for _, mode := range []string{"starttls", "implicit"} {
		for _, login := range []string{
			`AUTHENTICATE "PLAIN" "AGFsaWNlAHNlY3JldA=="`,
			"AUTHENTICATE \"PLAIN\" {20+}\r\nAGFsaWNlAHNlY3JldA==",
			"AUTHENTICATE \"LOGIN\"\r\n\"YWxpY2U=\"\r\n\"c2VjcmV0\"",
		} {
			t.Run(mode+"-"+strings.Fields(login)[1], func(t *testing.T) {
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
				s := &sieveClient{t: t, c: c, r: bufio.NewReader(c)}
				greeting := s.response()
				if !strings.Contains(greeting, "\"SIEVE\" \"fileinto vacation\"\r\n") || strings.Contains(greeting, "STARTTLS") == (mode == "implicit") {
					t.Fatalf("greeting %q", greeting)
				}
				if mode == "starttls" {
					s.cmd("STARTTLS", "OK")
					tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
					s.c, s.r = tc, bufio.NewReader(tc)
					if again := s.response(); strings.Contains(again, "STARTTLS") || !strings.Contains(again, "\"SASL\" \"PLAIN LOGIN\"") {
						t.Fatalf("capabilities after STARTTLS %q", again)
					}
				}
				if strings.Contains(login, "LOGIN") {
					io.WriteString(s.c, "AUTHENTICATE \"LOGIN\"\r\n")
					if got := s.line(); got != "\"VXNlcm5hbWU6\"\r\n" {
						t.Fatalf("challenge %q", got)
					}
					io.WriteString(s.c, "\"YWxpY2U=\"\r\n")
					if got := s.line(); got != "\"UGFzc3dvcmQ6\"\r\n" {
						t.Fatalf("challenge %q", got)
					}
					s.cmd(`"c2VjcmV0"`, `OK "Logged in."`)
				} else {
					s.cmd(login, `OK "Logged in."`)
				}
				s.cmd("PUTSCRIPT \"junk\" {"+itoa(len(script))+"+}\r\n"+script, "OK")
				if got := s.cmd("LISTSCRIPTS", "OK"); !strings.Contains(got, "\"junk\"\r\n") {
					t.Fatalf("LISTSCRIPTS %q", got)
				}
				s.cmd(`SETACTIVE "junk"`, "OK")
				if got := s.cmd(`GETSCRIPT "junk"`, "OK"); !strings.HasPrefix(got, "{"+itoa(len(script))+"}\r\n"+script) {
					t.Fatalf("GETSCRIPT %q", got)
				}
				s.cmd(`SETACTIVE ""`, "OK")
				s.cmd(`DELETESCRIPT "junk"`, "OK")
				if _, ok := be.Script("alice", "junk"); ok {
					t.Fatal("script still on the backend")
				}
				s.cmd("LOGOUT", "OK")
			})
		}
	}
	t.Run("wrong-password", func(t *testing.T) {
		c, err := net.Dial("tcp", addrs[1])
		must(t, err)
		defer c.Close()
		c = tls.Client(c, &tls.Config{InsecureSkipVerify: true})
		s := &sieveClient{t: t, c: c, r: bufio.NewReader(c)}
		s.response()
		s.cmd(`AUTHENTICATE "PLAIN" "AGFsaWNlAHdyb25n"`, `NO "Invalid login or password"`)
	})
	for _, r := range auth.requests() {
		if !strings.Contains(r, "Auth-Protocol: sieve\r\n") || !strings.Contains(r, "Auth-Method: plain\r\nAuth-User: alice\r\n") || !strings.Contains(r, "Auth-SSL: on\r\n") {
			t.Errorf("auth request:\n%s", r)
		}
	}
}

// line reads one line.
func (s *sieveClient) line() string {
	s.t.Helper()
	s.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := s.r.ReadString('\n')
	if err != nil {
		s.t.Fatalf("read: %v (%q)", err, l)
	}
	return l
}
