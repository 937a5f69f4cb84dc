package proxy_test

// Security tests across IMAP, POP3 and SMTP: STARTTLS command injection,
// CR/LF/NUL in credentials, PROXY headers from untrusted peers,
// `starttls: only`, and the auth shared secret never reaching a backend.

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/mailtest"
)

const (
	secIMAPGreeting = "* OK IMAP4 ready\r\n"
	secPOP3Greeting = "+OK POP3 ready\r\n"
	secSMTPGreeting = "220 mx.example.com ESMTP ready\r\n"
)

// secYAML is one server of protocol PROTO with EXTRA settings, a
// certificate, and the auth shared secret.
const secYAML = `
mail:
  auth_http: http://AUTH/auth
  auth_http_header: {X-Auth-Key: SECRET}
  ssl_certificate: CERT
  ssl_certificate_key: KEY
  server_name: mx.example.com
  timeout: 5s
servers:
  - protocol: PROTO
    EXTRA
    listen:
      - 127.0.0.1:0
      - {address: "127.0.0.1:0", proxy_protocol: true}
    set_real_ip_from: [192.0.2.0/24]
`

// authSecret is the X-Auth-Key value: only the auth service may see it.
const authSecret = "k9-Zq7-auth-shared-value"

func secConfig(proto, extra string) string {
	return strings.NewReplacer("PROTO", proto, "EXTRA", extra, "SECRET", authSecret).Replace(secYAML)
}

// recBackend is lineBackend that records everything it receives: it sends
// greeting, answers each line with the next reply (recorded before the
// reply is written), and after the last reply records whatever else comes
// until the peer closes or two seconds pass.
func recBackend(t *testing.T, greeting string, replies ...string) (string, *mailtest.SyncBuffer) {
	rec := &mailtest.SyncBuffer{}
	addr := scriptedBackend(t, func(c net.Conn) {
		io.WriteString(c, greeting)
		r := bufio.NewReader(c)
		for _, rep := range replies {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, err := r.ReadString('\n')
			rec.Write([]byte(line))
			if err != nil {
				return
			}
			io.WriteString(c, rep)
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		io.Copy(rec, r)
	})
	return addr, rec
}

// playSteps plays each dialogue step on c: "<bytes" expected, ">bytes" sent,
// "closed" (the proxy closes without another byte).
func playSteps(c *rawConn, steps []string) {
	c.t.Helper()
	for _, s := range steps {
		switch {
		case s == "closed":
			c.expectClosed()
		case s[0] == '>':
			c.send(s[1:])
		case s[0] == '<':
			c.expect(s[1:])
		default:
			c.t.Fatalf("bad step %q", s)
		}
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestStartTLSInjection: plaintext pipelined after STARTTLS/STLS in the
// same segment is discarded, never executed (CVE-2014-3556): the client
// sees only the OK in clear, the TLS handshake succeeds, the first reply
// over TLS is the one to the probe, and the auth service got no request.
//
// Any extra plaintext after the OK (e.g. a second greeting) fails the
// Buffered check or the handshake.
func TestStartTLSInjection(t *testing.T) {
	for _, tc := range []struct {
		name, proto, greeting, inject string
		okClear                       string
		probe, probeReply             string
	}{
		{"imap-login", "imap", secIMAPGreeting, "a STARTTLS\r\nb LOGIN u p\r\n", "a OK completed\r\n", "c NOOP\r\n", "c OK completed\r\n"},
		{"imap-authenticate", "imap", secIMAPGreeting, "a STARTTLS\r\nb AUTHENTICATE PLAIN " + b64("\x00u\x00p") + "\r\n", "a OK completed\r\n", "c NOOP\r\n", "c OK completed\r\n"},
		{"imap-capability-noop", "imap", secIMAPGreeting, "a STARTTLS\r\nb NOOP\r\n", "a OK completed\r\n", "c NOOP\r\n", "c OK completed\r\n"},
		// PASS without USER is refused: had the injected USER run, it
		// would be accepted.
		{"pop3-user-pass", "pop3", secPOP3Greeting, "STLS\r\nUSER u\r\nPASS p\r\n", "+OK\r\n", "PASS x\r\n", "-ERR invalid command\r\n"},
		{"pop3-user-only", "pop3", secPOP3Greeting, "STLS\r\nUSER u\r\n", "+OK\r\n", "PASS x\r\n", "-ERR invalid command\r\n"},
		{"pop3-auth-plain", "pop3", secPOP3Greeting, "STLS\r\nAUTH PLAIN " + b64("\x00u\x00p") + "\r\n", "+OK\r\n", "NOOP\r\n", "+OK\r\n"},
		{"smtp-auth-plain", "smtp", secSMTPGreeting, "STARTTLS\r\nAUTH PLAIN " + b64("\x00u\x00p") + "\r\n", "220 2.0.0 Start TLS\r\n", "NOOP\r\n", "250 2.0.0 OK\r\n"},
		{"smtp-ehlo-auth", "smtp", secSMTPGreeting, "EHLO x\r\nSTARTTLS\r\nAUTH LOGIN\r\n", "", "NOOP\r\n", "250 2.0.0 OK\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth := startAuth(t, failAuth)
			_, addrs := startProxy(t, secConfig(tc.proto, "starttls: on"), auth.addr())
			c := dialRaw(t, addrs[0])
			c.expect(tc.greeting)
			c.send(tc.inject)
			okClear := tc.okClear
			if tc.name == "smtp-ehlo-auth" {
				c.c.SetReadDeadline(deadline())
				ehlo := ""
				for !strings.HasPrefix(ehlo, "250 ") {
					line, err := c.r.ReadString('\n')
					if err != nil {
						t.Fatalf("EHLO reply: %q %v", line, err)
					}
					ehlo = line
				}
				okClear = "220 2.0.0 Start TLS\r\n"
			}
			c.expect(okClear)
			if n := c.r.Buffered(); n != 0 {
				b, _ := c.r.Peek(n)
				t.Fatalf("more in clear after the OK: %q", b)
			}
			tc2 := tls.Client(c.c, &tls.Config{InsecureSkipVerify: true})
			tc2.SetDeadline(deadline())
			if err := tc2.Handshake(); err != nil {
				t.Fatalf("handshake: %v", err)
			}
			s := &rawConn{t: t, c: tc2, r: bufio.NewReader(tc2)}
			s.send(tc.probe)
			s.expect(tc.probeReply)
			// Nothing else was answered meanwhile.
			tc2.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			if b, err := s.r.ReadByte(); err == nil {
				rest, _ := s.r.Peek(s.r.Buffered())
				t.Fatalf("unexpected bytes over TLS: %q", append([]byte{b}, rest...))
			}
			if reqs := auth.requests(); len(reqs) != 0 {
				t.Fatalf("auth service got %d requests:\n%s", len(reqs), reqs[0])
			}
		})
	}
}

// evilUser and evilPass carry CR, LF and NUL (possible through AUTH PLAIN,
// whose password runs to the end of the decoded string).
const (
	evilUser = "u\r\nX-Evil: 1"
	evilPass = "p\r\nQUIT\x00z"
)

var evilPlain = b64("\x00" + evilUser + "\x00" + evilPass)

// TestCRLFInCredentialsEscapedForAuth: CR, LF and NUL in a user name or
// password reach the auth service only as %0D, %0A, %00 — no header can
// be injected into the request.
func TestCRLFInCredentialsEscapedForAuth(t *testing.T) {
	for _, tc := range []struct {
		proto, greeting string
		steps           []string
	}{
		{"imap", secIMAPGreeting, []string{">a AUTHENTICATE PLAIN " + evilPlain + "\r\n", "<a NO Nope\r\n", "closed"}},
		{"imap-literal-login", secIMAPGreeting, []string{">a LOGIN {" + itoa(len(evilUser)) + "}\r\n", "<+ OK\r\n", ">" + evilUser + " {" + itoa(len(evilPass)) + "}\r\n", "<+ OK\r\n", ">" + evilPass + "\r\n", "<a NO Nope\r\n", "closed"}},
		{"pop3", secPOP3Greeting, []string{">AUTH PLAIN " + evilPlain + "\r\n", "<-ERR Nope\r\n", "closed"}},
		{"smtp", secSMTPGreeting, []string{">AUTH PLAIN " + evilPlain + "\r\n", "<535 5.7.0 Nope\r\n", "closed"}},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			auth := startAuth(t, failAuth)
			_, addrs := startProxy(t, secConfig(strings.TrimSuffix(tc.proto, "-literal-login"), ""), auth.addr())
			c := dialRaw(t, addrs[0])
			c.expect(tc.greeting)
			playSteps(c, tc.steps)
			reqs := auth.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d auth requests", len(reqs))
			}
			req := reqs[0]
			for _, want := range []string{"\r\nAuth-User: u%0D%0AX-Evil:%201\r\n", "\r\nAuth-Pass: p%0D%0AQUIT%00z\r\n"} {
				if !strings.Contains(req, want) {
					t.Errorf("request lacks %q:\n%q", want, req)
				}
			}
			for _, bad := range []string{"\r\nX-Evil", "\r\nQUIT", "\x00"} {
				if strings.Contains(req, bad) {
					t.Errorf("request contains %q:\n%q", bad, req)
				}
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestCRLFInCredentialsNeverReachBackend: a password (or user) with CR/LF
// that the auth service accepted is never written raw into a backend
// command. POP3 sends USER/PASS as text, so the login is refused with the
// internal error before a byte is sent; IMAP sends literals, SMTP xtext
// (XCLIENT LOGIN=) and base64 (AUTH PLAIN), which carry any byte safely,
// so the login goes on and the backend gets the encoded form only.
func TestCRLFInCredentialsNeverReachBackend(t *testing.T) {
	type bcase struct {
		name, proto, extra, greeting string
		backendGreeting              string
		replies                      []string
		steps                        []string
		wantBackend                  string // exact bytes the backend received
	}
	for _, tc := range []bcase{
		{
			name: "pop3-auth-plain-pass", proto: "pop3", greeting: secPOP3Greeting,
			backendGreeting: "+OK be\r\n", replies: []string{"+OK\r\n", "+OK\r\n", "+OK\r\n"},
			steps:       []string{">AUTH PLAIN " + b64("\x00u\x00p\r\nQUIT") + "\r\n", "<-ERR internal server error\r\n", "closed"},
			wantBackend: "",
		},
		{
			name: "pop3-auth-plain-user", proto: "pop3", greeting: secPOP3Greeting,
			backendGreeting: "+OK be\r\n", replies: []string{"+OK\r\n", "+OK\r\n", "+OK\r\n"},
			steps:       []string{">AUTH PLAIN " + b64("\x00u\r\nQUIT\x00p") + "\r\n", "<-ERR internal server error\r\n", "closed"},
			wantBackend: "",
		},
		{
			name: "pop3-auth-plain-nul", proto: "pop3", greeting: secPOP3Greeting,
			backendGreeting: "+OK be\r\n", replies: []string{"+OK\r\n", "+OK\r\n", "+OK\r\n"},
			steps:       []string{">AUTH PLAIN " + b64("\x00u\x00p\x00q") + "\r\n", "<-ERR internal server error\r\n", "closed"},
			wantBackend: "",
		},
		{
			name: "imap-literals", proto: "imap", greeting: secIMAPGreeting,
			backendGreeting: "* OK be\r\n", replies: []string{"+ go\r\n", "+ go\r\n", "a OK done\r\n"},
			steps:       []string{">a AUTHENTICATE PLAIN " + b64("\x00u\x00p\r\nQUIT") + "\r\n", "<a OK done\r\n"},
			wantBackend: "a LOGIN {1}\r\nu {7}\r\np\r\nQUIT\r\n",
		},
		{
			name: "smtp-xclient-login", proto: "smtp", extra: "xclient: on", greeting: secSMTPGreeting,
			backendGreeting: "220 be\r\n", replies: []string{"250 be\r\n", "220 ok\r\n"},
			steps:       []string{">AUTH PLAIN " + b64("\x00u\r\nRSET\x00p\r\nQUIT") + "\r\n", "<235 2.0.0 OK\r\n"},
			wantBackend: "EHLO mx.example.com\r\nXCLIENT ADDR=127.0.0.1 LOGIN=u+0D+0ARSET NAME=[UNAVAILABLE]\r\n",
		},
		{
			name: "smtp-proxy-auth-plain", proto: "smtp", extra: "xclient: off\n    proxy_smtp_auth: on", greeting: secSMTPGreeting,
			backendGreeting: "220 be\r\n", replies: []string{"250 be\r\n", "235 ok\r\n"},
			steps:       []string{">AUTH PLAIN " + b64("\x00u\x00p\r\nQUIT") + "\r\n", "<235 2.0.0 OK\r\n"},
			wantBackend: "HELO mx.example.com\r\nAUTH PLAIN " + b64("\x00u\x00p\r\nQUIT") + "\r\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be, rec := recBackend(t, tc.backendGreeting, tc.replies...)
			auth := startAuth(t, okAuthAt(be))
			srv, addrs := startProxy(t, secConfig(tc.proto, tc.extra), auth.addr())
			c := dialRaw(t, addrs[0])
			c.expect(tc.greeting)
			playSteps(c, tc.steps)
			c.c.Close()
			waitFor(t, func() bool { return srv.Sessions() == 0 }, "sessions to end")
			waitFor(t, func() bool { return rec.String() == tc.wantBackend }, "backend bytes "+strings.ReplaceAll(rec.String(), "\r\n", "\\r\\n"))
			got := rec.String()
			for _, line := range strings.SplitAfter(got, "\r\n") {
				if line == "QUIT\r\n" && tc.proto != "imap" || line == "RSET\r\n" {
					t.Fatalf("injected line reached the backend: %q", got)
				}
			}
		})
	}
}

// TestUntrustedProxyHeader: a PROXY header from a peer outside
// set_real_ip_from is consumed (the greeting follows, the header is not
// parsed as a command) but its source is not believed: Client-IP stays
// 127.0.0.1 while the Proxy-Protocol-* headers report what it said.
func TestUntrustedProxyHeader(t *testing.T) {
	for _, tc := range []struct {
		proto, greeting string
		steps           []string
	}{
		{"imap", secIMAPGreeting, []string{">a LOGIN u p\r\n", "<a NO Nope\r\n", "closed"}},
		{"pop3", secPOP3Greeting, []string{">USER u\r\n", "<+OK\r\n", ">PASS p\r\n", "<-ERR Nope\r\n", "closed"}},
		{"smtp", secSMTPGreeting, []string{">AUTH PLAIN " + b64("\x00u\x00p") + "\r\n", "<535 5.7.0 Nope\r\n", "closed"}},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			auth := startAuth(t, failAuth)
			_, addrs := startProxy(t, secConfig(tc.proto, ""), auth.addr())
			c := dialRaw(t, addrs[1])
			c.send("PROXY TCP4 192.0.2.1 192.0.2.2 123 5678\r\n")
			c.expect(tc.greeting)
			playSteps(c, tc.steps)
			reqs := auth.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d auth requests", len(reqs))
			}
			want := "\r\nClient-IP: 127.0.0.1\r\n"
			if !strings.Contains(reqs[0], want) {
				t.Errorf("request lacks %q:\n%s", want, reqs[0])
			}
			want = "\r\nProxy-Protocol-Addr: 192.0.2.1\r\nProxy-Protocol-Port: 123\r\nProxy-Protocol-Server-Addr: 192.0.2.2\r\nProxy-Protocol-Server-Port: 5678\r\n"
			if !strings.Contains(reqs[0], want) {
				t.Errorf("request lacks %q:\n%s", want, reqs[0])
			}
			if strings.Contains(reqs[0], "Client-IP: 192.0.2.1") {
				t.Errorf("untrusted address believed:\n%s", reqs[0])
			}
		})
	}
}

// TestStartTLSOnlyRefusesCredentials: with `starttls: only` every way of
// giving credentials in clear is answered with the invalid-command reply,
// no SASL exchange starts (a NOOP right after is answered normally) and
// no auth request is made.
func TestStartTLSOnlyRefusesCredentials(t *testing.T) {
	type ocase struct {
		proto, extra, greeting string
		cmd, refusal           string
		probe, probeReply      string
	}
	var cases []ocase
	imapExtra := "starttls: only\n    imap_auth: [plain, login, cram-md5, external]"
	for _, cmd := range []string{
		"a LOGIN u p\r\n",
		"a AUTHENTICATE PLAIN\r\n",
		"a AUTHENTICATE PLAIN " + b64("\x00u\x00p") + "\r\n",
		"a AUTHENTICATE LOGIN\r\n",
		"a AUTHENTICATE LOGIN " + b64("u") + "\r\n",
		"a AUTHENTICATE CRAM-MD5\r\n",
		"a AUTHENTICATE EXTERNAL\r\n",
		"a AUTHENTICATE EXTERNAL =\r\n",
	} {
		cases = append(cases, ocase{"imap", imapExtra, secIMAPGreeting, cmd, "a BAD invalid command\r\n", "n NOOP\r\n", "n OK completed\r\n"})
	}
	// A literal is acknowledged by the parser; the complete command is
	// then refused.
	cases = append(cases, ocase{"imap", imapExtra, secIMAPGreeting, "a LOGIN {1}\r\nu p\r\n", "+ OK\r\na BAD invalid command\r\n", "n NOOP\r\n", "n OK completed\r\n"})
	pop3Extra := "starttls: only\n    pop3_auth: [plain, apop, cram-md5, external]"
	for _, cmd := range []string{
		"USER u\r\n",
		"APOP u 0123456789abcdef0123456789abcdef\r\n",
		"AUTH\r\n",
		"AUTH PLAIN\r\n",
		"AUTH PLAIN " + b64("\x00u\x00p") + "\r\n",
		"AUTH LOGIN\r\n",
		"AUTH LOGIN " + b64("u") + "\r\n",
		"AUTH CRAM-MD5\r\n",
		"AUTH EXTERNAL\r\n",
		"AUTH EXTERNAL =\r\n",
	} {
		cases = append(cases, ocase{"pop3", pop3Extra, "", cmd, "-ERR invalid command\r\n", "NOOP\r\n", "+OK\r\n"})
	}
	smtpExtra := "starttls: only\n    smtp_auth: [plain, login, cram-md5, external]"
	for _, cmd := range []string{
		"AUTH\r\n",
		"AUTH PLAIN\r\n",
		"AUTH PLAIN " + b64("\x00u\x00p") + "\r\n",
		"AUTH LOGIN\r\n",
		"AUTH LOGIN " + b64("u") + "\r\n",
		"AUTH CRAM-MD5\r\n",
		"AUTH EXTERNAL\r\n",
		"AUTH EXTERNAL =\r\n",
	} {
		cases = append(cases, ocase{"smtp", smtpExtra, secSMTPGreeting, cmd, "500 5.5.1 Invalid command\r\n", "NOOP\r\n", "250 2.0.0 OK\r\n"})
	}
	servers := map[string][]string{}
	auths := map[string]*authServer{}
	for _, tc := range cases {
		if _, ok := servers[tc.proto]; !ok {
			auths[tc.proto] = startAuth(t, failAuth)
			_, servers[tc.proto] = startProxy(t, secConfig(tc.proto, tc.extra), auths[tc.proto].addr())
		}
		t.Run(tc.proto+"/"+strings.TrimSpace(tc.cmd), func(t *testing.T) {
			c := dialRaw(t, servers[tc.proto][0])
			if tc.greeting != "" {
				c.expect(tc.greeting)
			} else {
				// The POP3 greeting carries the APOP salt.
				c.c.SetReadDeadline(deadline())
				g, err := c.r.ReadString('\n')
				if err != nil || !strings.HasPrefix(g, "+OK POP3 ready <") {
					t.Fatalf("greeting %q %v", g, err)
				}
			}
			c.send(tc.cmd)
			c.expect(tc.refusal)
			c.send(tc.probe)
			c.expect(tc.probeReply)
			if n := len(auths[tc.proto].requests()); n != 0 {
				t.Fatalf("%d auth requests", n)
			}
		})
	}
}

// TestAuthSecretNeverReachesBackend: the auth_http_header value (the
// shared secret of the auth service) is sent to the auth service only;
// a full session's bytes at each backend are exactly the login dialogue
// and the client's commands.
func TestAuthSecretNeverReachesBackend(t *testing.T) {
	for _, tc := range []struct {
		proto, extra, greeting string
		backendGreeting        string
		replies                []string
		steps                  []string
		wantBackend            string
	}{
		{
			proto: "imap", greeting: secIMAPGreeting, backendGreeting: "* OK be\r\n",
			replies:     []string{"+ go\r\n", "+ go\r\n", "a OK in\r\n", "b OK noop\r\n", "* BYE\r\nc OK bye\r\n"},
			steps:       []string{">a LOGIN u p\r\n", "<a OK in\r\n", ">b NOOP\r\n", "<b OK noop\r\n", ">c LOGOUT\r\n", "<* BYE\r\nc OK bye\r\n"},
			wantBackend: "a LOGIN {1}\r\nu {1}\r\np\r\nb NOOP\r\nc LOGOUT\r\n",
		},
		{
			proto: "pop3", greeting: secPOP3Greeting, backendGreeting: "+OK be\r\n",
			replies:     []string{"+OK\r\n", "+OK in\r\n", "+OK 0 0\r\n", "+OK bye\r\n"},
			steps:       []string{">USER u\r\n", "<+OK\r\n", ">PASS p\r\n", "<+OK in\r\n", ">STAT\r\n", "<+OK 0 0\r\n", ">QUIT\r\n", "<+OK bye\r\n"},
			wantBackend: "USER u\r\nPASS p\r\nSTAT\r\nQUIT\r\n",
		},
		{
			proto: "smtp", extra: "xclient: on", greeting: secSMTPGreeting, backendGreeting: "220 be\r\n",
			replies: []string{"250 be\r\n", "220 ok\r\n", "250 be\r\n", "250 ok\r\n", "221 bye\r\n"},
			steps: []string{">EHLO client.example\r\n", "<250-mx.example.com\r\n250 AUTH PLAIN LOGIN\r\n",
				">AUTH PLAIN " + b64("\x00u\x00p") + "\r\n", "<235 2.0.0 OK\r\n", ">MAIL FROM:<a@example.org>\r\n", "<250 ok\r\n", ">QUIT\r\n", "<221 bye\r\n"},
			wantBackend: "EHLO mx.example.com\r\nXCLIENT ADDR=127.0.0.1 LOGIN=u NAME=[UNAVAILABLE]\r\nEHLO client.example\r\nMAIL FROM:<a@example.org>\r\nQUIT\r\n",
		},
		{
			proto: "smtp", extra: "xclient: off\n    proxy_smtp_auth: on", greeting: secSMTPGreeting, backendGreeting: "220 be\r\n",
			replies:     []string{"250 be\r\n", "235 ok\r\n", "250 ok\r\n", "221 bye\r\n"},
			steps:       []string{">AUTH PLAIN " + b64("\x00u\x00p") + "\r\n", "<235 2.0.0 OK\r\n", ">MAIL FROM:<a@example.org>\r\n", "<250 ok\r\n", ">QUIT\r\n", "<221 bye\r\n"},
			wantBackend: "HELO mx.example.com\r\nAUTH PLAIN " + b64("\x00u\x00p") + "\r\nMAIL FROM:<a@example.org>\r\nQUIT\r\n",
		},
	} {
		t.Run(tc.proto+"/"+strings.Fields(tc.extra + " plain")[0], func(t *testing.T) {
			be, rec := recBackend(t, tc.backendGreeting, tc.replies...)
			auth := startAuth(t, okAuthAt(be))
			srv, addrs := startProxy(t, secConfig(tc.proto, tc.extra), auth.addr())
			c := dialRaw(t, addrs[0])
			c.expect(tc.greeting)
			playSteps(c, tc.steps)
			c.c.Close()
			waitFor(t, func() bool { return srv.Sessions() == 0 }, "sessions to end")
			got := rec.String()
			if strings.Contains(got, authSecret) || strings.Contains(got, "X-Auth-Key") {
				t.Fatalf("the auth secret reached the backend: %q", got)
			}
			if got != tc.wantBackend {
				t.Fatalf("backend received %q, want %q", got, tc.wantBackend)
			}
			if reqs := auth.requests(); len(reqs) != 1 || !strings.Contains(reqs[0], "\r\nX-Auth-Key: "+authSecret+"\r\n") {
				t.Fatalf("the auth service did not get the secret: %q", reqs)
			}
		})
	}
}
