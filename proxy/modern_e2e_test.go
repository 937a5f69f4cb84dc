package proxy_test

import (
	"bufio"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/sasl"
)

// oauthToken is the bearer token of these tests; TestMain makes sure no
// log line ever holds it.
const oauthToken = "e2e-bearer-token-0123456789"

func init() { testPasswords = append(testPasswords, oauthToken) }

// answeringBackend greets each session's connection and answers every
// line the proxy sends with answer(line) (the session ends at an empty
// answer); the lines of each session are sent on got when it ends.
func answeringBackend(t *testing.T, greeting string, answer func(line string) string) (addr string, got chan string) {
	t.Helper()
	got = make(chan string, 8)
	addr = scriptedBackend(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte(greeting))
		r := bufio.NewReader(c)
		var seen strings.Builder
		defer func() { got <- seen.String() }()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			seen.WriteString(line)
			a := answer(line)
			if a == "" {
				return
			}
			c.Write([]byte(a))
		}
	})
	return addr, got
}

func header(req, name string) string {
	m := regexp.MustCompile(`(?m)^` + name + `: (.*)\r$`).FindStringSubmatch(req)
	if m == nil {
		return "<absent>"
	}
	return m[1]
}

// TestModernIMAP: behind a trusted PROXY header naming 192.0.2.7, an
// IMAP client sends ID and logs in with XOAUTH2; the auth service gets
// freenginx's request plus the client details, the backend gets ID with
// the client's fields and address, then LOGIN with the answer's
// password, and the session is spliced.
func TestModernIMAP(t *testing.T) {
	backend, got := answeringBackend(t, "* OK [CAPABILITY IMAP4rev1 ID] ready\r\n", func(line string) string {
		switch {
		case strings.HasPrefix(line, "mailproxy-id ID "):
			return "* ID (\"name\" \"Dovecot\")\r\nmailproxy-id OK ID completed.\r\n"
		case strings.HasPrefix(line, "a2 LOGIN {5}"), line == "alice {6}\r\n":
			return "+ OK\r\n"
		case line == "secret\r\n":
			return "a2 OK Logged in\r\n"
		case strings.HasPrefix(line, "a3 NOOP"):
			return "a3 OK NOOP completed.\r\n"
		}
		return ""
	})
	host, port, _ := net.SplitHostPort(backend)
	auth := startAuth(t, func(string) string {
		return "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: " + host + "\r\nAuth-Port: " + port + "\r\nAuth-Pass: secret\r\n\r\n"
	})
	_, addrs := startProxy(t, `
mail:
  auth_http: http://AUTH/auth
servers:
  - protocol: imap
    imap_auth: [plain, xoauth2, oauthbearer, sasl-ir]
    imap_id: {name: mailproxy}
    proxy_forward: imap_id
    auth_http_pass_client_details: on
    set_real_ip_from: [127.0.0.1/32]
    listen:
      - {address: "127.0.0.1:0", proxy_protocol: true}
`, auth.addr())
	c := dialRaw(t, addrs[0])
	c.send("PROXY TCP4 192.0.2.7 203.0.113.1 51234 993\r\n")
	c.expect("* OK IMAP4 ready\r\n")
	c.send("a0 CAPABILITY\r\n")
	c.expect("* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS ID SASL-IR AUTH=PLAIN AUTH=XOAUTH2 AUTH=OAUTHBEARER\r\na0 OK completed\r\n")
	c.send("a1 ID (\"name\" \"e2e client\" \"x-originating-ip\" \"10.6.6.6\")\r\n")
	c.expect("* ID (\"name\" \"mailproxy\")\r\na1 OK completed\r\n")
	c.send("a2 AUTHENTICATE XOAUTH2 " + sasl.Encode(sasl.XOAUTH2Message("alice", oauthToken)) + "\r\n")
	c.expect("a2 OK Logged in\r\n")
	c.send("a3 NOOP\r\n")
	c.expect("a3 OK NOOP completed.\r\n")
	c.c.Close()

	seen := <-got
	id := regexp.MustCompile(`^mailproxy-id ID \("name" "e2e client" "x-originating-ip" "192\.0\.2\.7" "x-originating-port" "51234" "x-connected-ip" "203\.0\.113\.1" "x-connected-port" "993" "x-session-id" "[A-Za-z0-9+/]{16}"\)\r\n`)
	if !id.MatchString(seen) || !strings.Contains(seen, "a2 LOGIN {5}\r\nalice {6}\r\nsecret\r\n") {
		t.Fatalf("backend got:\n%s", seen)
	}
	req := auth.requests()[0]
	for name, want := range map[string]string{
		"Auth-Method":    "xoauth2",
		"Auth-User":      "alice",
		"Auth-Pass":      oauthToken,
		"Client-IP":      "192.0.2.7",
		"Client-Port":    "51234",
		"Server-Addr":    "203.0.113.1",
		"Server-Port":    "993",
		"Client-IMAP-ID": `("name"%20"e2e%20client"%20"x-originating-ip"%20"10.6.6.6")`,
	} {
		if got := header(req, name); got != want {
			t.Errorf("%s: %q, want %q in\n%s", name, got, want, req)
		}
	}
}

// TestModernDefaultsUnchanged: without the new keys the auth request
// carries none of the new headers, ID is nginx's BAD and XOAUTH2 is
// refused.
func TestModernDefaultsUnchanged(t *testing.T) {
	auth := startAuth(t, func(string) string { return "HTTP/1.0 200 OK\r\nAuth-Status: No\r\nAuth-Wait: 1\r\n\r\n" })
	_, addrs := startProxy(t, "mail:\n  auth_http: http://AUTH/auth\nservers:\n  - protocol: imap\n    listen: [127.0.0.1:0]\n", auth.addr())
	c := dialRaw(t, addrs[0])
	c.expect("* OK IMAP4 ready\r\n")
	c.send("a1 ID NIL\r\n")
	c.expect("a1 BAD invalid command\r\n")
	c.send("a2 AUTHENTICATE XOAUTH2 " + sasl.Encode(sasl.XOAUTH2Message("alice", oauthToken)) + "\r\n")
	c.expect("a2 BAD invalid command\r\n")
	c.send("a3 LOGIN alice secret\r\n")
	c.expect("a3 NO No\r\n")
	req := auth.requests()[0]
	for _, h := range []string{"Client-Port", "Server-Addr", "Server-Port", "Client-IMAP-ID"} {
		if strings.Contains(req, h+":") {
			t.Errorf("%s sent by default:\n%s", h, req)
		}
	}
}

// TestOAuthErrorThroughProxy: the auth service's Auth-Error-SASL reaches
// the client as the continuation, the acknowledgement gets the NO, and
// without Auth-Wait the connection then closes (the HTTP answer parsed by
// the real auth client).
func TestOAuthErrorThroughProxy(t *testing.T) {
	auth := startAuth(t, func(string) string {
		return "HTTP/1.0 200 OK\r\nAuth-Status: Invalid token\r\nAuth-Error-SASL: eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=\r\n\r\n"
	})
	_, addrs := startProxy(t, `
mail:
  auth_http: http://AUTH/auth
servers:
  - protocol: smtp
    server_name: mx.example.com
    smtp_auth: [oauthbearer]
    listen: [127.0.0.1:0]
  - protocol: pop3
    pop3_auth: [xoauth2]
    listen: [127.0.0.1:0]
`, auth.addr())
	c := dialRaw(t, addrs[0])
	c.expect("220 mx.example.com ESMTP ready\r\n")
	c.send("EHLO client\r\n")
	c.expect("250-mx.example.com\r\n250 AUTH OAUTHBEARER\r\n")
	c.send("AUTH OAUTHBEARER " + sasl.Encode(sasl.OAuthBearerMessage("alice", oauthToken)) + "\r\n")
	c.expect("334 eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=\r\n")
	c.send("AQ==\r\n")
	c.expect("535 5.7.0 Invalid token\r\n")
	c.expectClosed()

	c = dialRaw(t, addrs[1])
	c.expect("+OK POP3 ready\r\n")
	c.send("AUTH XOAUTH2\r\n")
	c.expect("+ \r\n")
	c.send(sasl.Encode(sasl.XOAUTH2Message("alice", oauthToken)) + "\r\n")
	c.expect("+ eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=\r\n")
	c.send("AQ==\r\n") // not XOAUTH2's acknowledgement
	c.expect("-ERR invalid command\r\n")
	c.expectClosed()
	for _, req := range auth.requests() {
		if header(req, "Auth-Pass") != oauthToken {
			t.Errorf("Auth-Pass is not the token:\n%s", req)
		}
	}
}

// TestModernPOP3Forward: proxy_forward xclient puts Dovecot's XCLIENT
// before USER, with the client's address after a trusted PROXY header.
func TestModernPOP3Forward(t *testing.T) {
	backend, got := answeringBackend(t, "+OK Dovecot ready.\r\n", func(line string) string {
		switch {
		case strings.HasPrefix(line, "XCLIENT "):
			return "+OK Updated\r\n"
		case line == "USER alice\r\n":
			return "+OK\r\n"
		case line == "PASS secret\r\n":
			return "+OK Logged in.\r\n"
		}
		return ""
	})
	auth := startAuth(t, okTo(backend))
	_, addrs := startProxy(t, `
mail:
  auth_http: http://AUTH/auth
servers:
  - protocol: pop3
    proxy_forward: xclient
    set_real_ip_from: [127.0.0.1/32]
    listen:
      - {address: "127.0.0.1:0", proxy_protocol: true}
`, auth.addr())
	c := dialRaw(t, addrs[0])
	c.send("PROXY TCP6 2001:db8::7 2001:db8::1 40000 110\r\n")
	c.expect("+OK POP3 ready\r\n")
	c.send("USER alice\r\nPASS secret\r\n")
	c.expect("+OK\r\n+OK Logged in.\r\n")
	c.c.Close()
	seen := <-got
	if !regexp.MustCompile(`^XCLIENT ADDR=2001:db8::7 PORT=40000 SESSION=[A-Za-z0-9+/]{16}\r\nUSER alice\r\nPASS secret\r\n`).MatchString(seen) {
		t.Fatalf("backend got:\n%s", seen)
	}
}
