package smtp

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/session"
)

// TestAppendixA5 is the client side of SPEC Appendix A.5: EHLO, AUTH
// LOGIN with both challenges; the MAIL pipelined after the password is
// kept for the backend.
func TestAppendixA5(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:25")}}
	h := serve(t, Options{}, auth)
	h.Play(greeting,
		"C: EHLO client.example.org\r\n",
		"S: 250-mx.example.com\r\n", "S: 250 AUTH PLAIN LOGIN\r\n",
		"C: AUTH LOGIN\r\n", "S: 334 VXNlcm5hbWU6\r\n",
		"C: Y2Fyb2w=\r\n", "S: 334 UGFzc3dvcmQ6\r\n",
		"C: c2VjcmV0\r\nMAIL FROM:<carol@example.com>\r\n")
	l := loginOf(t, h)
	if l.User != "carol" || l.Pass != "secret" || l.Method != "plain" || l.Helo != "client.example.org" || !l.ESMTP ||
		l.ClientHost != "[UNAVAILABLE]" || l.Client.String() != "192.0.2.10:1234" || l.Upstream != "127.0.0.1:25" ||
		string(l.Pipelined) != "MAIL FROM:<carol@example.com>\r\n" || l.MailFrom != "" || l.RcptTo != "" {
		t.Fatalf("login %+v", l)
	}
	q := auth.Requests()[0]
	if q.Method != "plain" || q.User != "carol" || q.Pass != "secret" || q.Protocol != "smtp" ||
		q.LoginAttempt != 1 || q.ClientHost != "[UNAVAILABLE]" || q.SMTPHelo != "" {
		t.Fatalf("request %+v", q)
	}
}

// TestAppendixA6 is the client side of SPEC Appendix A.6: smtp_auth none;
// RCPT before MAIL is a bad sequence; the RCPT after MAIL starts
// authentication with method none and gets no reply from the front end.
func TestAppendixA6(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:25")}}
	h := serve(t, Options{Auth: []string{"none"}}, auth)
	h.Play(greeting,
		"C: HELO client.example.org\r\n", "S: 250 mx.example.com\r\n",
		"C: RCPT TO:<x@example.com>\r\n", "S: 503 5.5.1 Bad sequence of commands\r\n",
		"C: MAIL FROM:<a@example.org>\r\n", "S: 250 2.0.0 OK\r\n",
		"C: RCPT TO:<b@example.com>\r\n")
	h.Silent(100 * time.Millisecond) // nginx never answers that RCPT itself
	l := loginOf(t, h)
	if l.Method != "none" || l.User != "" || l.Pass != "" || l.Helo != "client.example.org" || l.ESMTP ||
		l.MailFrom != "MAIL FROM:<a@example.org>" || l.RcptTo != "RCPT TO:<b@example.com>" {
		t.Fatalf("login %+v", l)
	}
	q := auth.Requests()[0]
	if q.Method != "none" || q.User != "" || q.Pass != "" || q.SMTPHelo != "client.example.org" ||
		q.SMTPFrom != "MAIL FROM:<a@example.org>" || q.SMTPTo != "RCPT TO:<b@example.com>" {
		t.Fatalf("request %+v", q)
	}
}

// TestAppendixA7 is SPEC Appendix A.7: failure texts, each on a fresh
// connection after EHLO.
func TestAppendixA7(t *testing.T) {
	ehlo := []string{greeting, "C: EHLO x\r\n", "S: 250-mx.example.com\r\n", "S: 250 AUTH PLAIN LOGIN\r\n"}

	t.Run("bad-password", func(t *testing.T) {
		h := serve(t, Options{}, &fakeAuth{Answers: []*authhttp.Response{fail("Bad password", "", 0)}})
		h.Play(append(ehlo, "C: AUTH PLAIN AHUAcA==\r\n", "S: 535 5.7.0 Bad password\r\n")...)
		h.Ended(session.ErrClosed)
		h.Closed()
	})
	t.Run("error-code-and-wait", func(t *testing.T) {
		h := serve(t, Options{}, &fakeAuth{Answers: []*authhttp.Response{fail("Try later", "451 4.3.0", 500*time.Millisecond)}})
		h.Play(append(ehlo, "C: AUTH PLAIN AHUAcA==\r\n")...)
		start := time.Now()
		h.Play("S: 451 4.3.0 Try later\r\n")
		if d := time.Since(start); d < 400*time.Millisecond {
			t.Fatalf("failure reply after %v, before Auth-Wait", d)
		}
		h.Play("C: NOOP\r\n", "S: 250 2.0.0 OK\r\n")
	})
	cases := []struct{ send, want string }{
		{"AUTH CRAM-MD5\r\n", "500 5.5.1 Invalid command\r\n"},
		{"DATA\r\n", "500 5.5.1 Invalid command\r\n"},
		{"HELO\r\n", "501 5.5.4 Invalid argument\r\n"},
		{"MAIL FROM:<a@b>\r\n", "530 5.7.1 Authentication required\r\n"},
	}
	for _, c := range cases {
		t.Run(strings.Fields(c.send)[0], func(t *testing.T) {
			h := serve(t, Options{}, &fakeAuth{})
			h.Play(append(ehlo, "C: "+c.send, "S: "+c.want, "C: NOOP\r\n", "S: 250 2.0.0 OK\r\n")...)
		})
	}
}

// TestEHLOReplies covers SPEC §6.5: the order name, capabilities, AUTH,
// STARTTLS; the fixed mechanism order; the variants by TLS state.
func TestEHLOReplies(t *testing.T) {
	all := []string{"external", "cram-md5", "login", "plain", "none"}
	cases := []struct {
		name string
		o    Options
		tls  bool
		want string
	}{
		{"default", Options{}, false, "250-mx.example.com\r\n250 AUTH PLAIN LOGIN\r\n"},
		{"starttls-on", Options{StartTLS: session.StartTLSOn}, false, "250-mx.example.com\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n"},
		{"starttls-on-tls", Options{StartTLS: session.StartTLSOn}, true, "250-mx.example.com\r\n250 AUTH PLAIN LOGIN\r\n"},
		{"starttls-only", Options{StartTLS: session.StartTLSOnly}, false, "250-mx.example.com\r\n250 STARTTLS\r\n"},
		{"starttls-only-tls", Options{StartTLS: session.StartTLSOnly}, true, "250-mx.example.com\r\n250 AUTH PLAIN LOGIN\r\n"},
		{"none-only", Options{Auth: []string{"none"}}, false, "250 mx.example.com\r\n"},
		{"none-only-starttls", Options{Auth: []string{"none"}, StartTLS: session.StartTLSOn}, false, "250-mx.example.com\r\n250 STARTTLS\r\n"},
		{"mechanism-order", Options{Auth: all}, false, "250-mx.example.com\r\n250 AUTH PLAIN LOGIN CRAM-MD5 EXTERNAL\r\n"},
		{"capabilities", Options{Capabilities: []string{"SIZE 10485760", "8BITMIME"}, StartTLS: session.StartTLSOn}, false,
			"250-mx.example.com\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n"},
		{"capabilities-only", Options{Capabilities: []string{"PIPELINING"}, StartTLS: session.StartTLSOnly}, false,
			"250-mx.example.com\r\n250-PIPELINING\r\n250 STARTTLS\r\n"},
		{"capabilities-no-auth", Options{Capabilities: []string{"PIPELINING", "8BITMIME"}, Auth: []string{"none"}}, false,
			"250-mx.example.com\r\n250-PIPELINING\r\n250 8BITMIME\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := serve(t, c.o, &fakeAuth{}, func(sc *session.Conn) { sc.TLS = c.tls })
			h.Play(greeting, "C: ehlo a\r\n", "S: "+c.want, "C: HELO b\r\n", "S: 250 mx.example.com\r\n")
		})
	}
}

// TestParserErrorsAndMaxErrors: only parser errors count (SPEC §3.5); the
// fifth gets its reply, then the connection closes.
func TestParserErrorsAndMaxErrors(t *testing.T) {
	h := serve(t, Options{}, &fakeAuth{})
	bad := "S: 500 5.5.1 Invalid command\r\n"
	h.Play(greeting)
	for range 6 {
		h.Play("C: VRFY x\r\n", bad, "C: EXPN x\r\n", bad, "C: HELP\r\n", bad, "C: AUTH FOO\r\n", bad,
			"C: AUTH PLAIN *\r\n", bad, "C: STARTTLS\r\n", bad, "C: HELO\r\n", "S: 501 5.5.4 Invalid argument\r\n",
			"C: RCPT TO:<a>\r\n", "S: 503 5.5.1 Bad sequence of commands\r\n",
			"C: MAIL FROM:<a>\r\n", "S: 530 5.7.1 Authentication required\r\n")
	}
	h.Play("C: DATA\r\n", bad, "C: \r\n", bad, "C:  NOOP\r\n", bad, "C: NO0P\r\n", bad)
	h.Silent(100 * time.Millisecond)
	h.Play("C: NOOP\rX\r\n", bad)
	h.Ended(session.ErrClosed)
	h.Closed()
	if !strings.Contains(h.Log.String(), "client sent too many invalid commands") {
		t.Fatalf("log: %s", h.Log.String())
	}
}

// TestBadLineWaitsForLF: nginx answers a bad line only once its LF has
// arrived, and skips it whole.
func TestBadLineWaitsForLF(t *testing.T) {
	h := serve(t, Options{}, &fakeAuth{})
	h.Play(greeting, "C: DATA and more")
	h.Silent(100 * time.Millisecond)
	h.Play("C:  bytes\r\nNOOP\r\n", "S: 500 5.5.1 Invalid command\r\n", "S: 250 2.0.0 OK\r\n")
}

func TestArgumentCountLimit(t *testing.T) {
	h := serve(t, Options{}, &fakeAuth{})
	h.Play(greeting,
		"C: NOOP a a a a a a a a a a a \r\n", "S: 250 2.0.0 OK\r\n",
		"C: NOOP a a a a a a a a a a a a \r\n", "S: 500 5.5.1 Invalid command\r\n",
		"C: NOOP a\tb\r\n", "S: 250 2.0.0 OK\r\n",
		"C: NOOP\tx\r\n", "S: 500 5.5.1 Invalid command\r\n")
}

// TestTooLongCommand: a command that does not fit smtp_client_buffer gets
// the invalid-command reply and the connection closes (not via
// max_errors). Unconsumed pipelined bytes count against the buffer.
func TestTooLongCommand(t *testing.T) {
	h := serve(t, Options{ClientBuffer: 128}, &fakeAuth{})
	h.Play(greeting, "C: NOOP "+strings.Repeat("x", 200), "S: 500 5.5.1 Invalid command\r\n")
	if err := h.Ended(nil); !errors.Is(err, session.ErrTooLong) {
		t.Fatalf("err %v", err)
	}
	h.Closed()

	// 120 bytes of complete commands plus the start of another one in the
	// same buffer: the partial one has only 8 bytes left.
	h = serve(t, Options{ClientBuffer: 128}, &fakeAuth{})
	pipelined := strings.Repeat("NOOP\r\n", 20) + "NOOP xxxxxxxxxxxx"
	h.Play(greeting, "C: "+pipelined)
	for range 20 {
		h.Play("S: 250 2.0.0 OK\r\n")
	}
	h.Play("S: 500 5.5.1 Invalid command\r\n")
	h.Ended(session.ErrTooLong)

	// The buffer is rewound once fully consumed: many short commands in
	// separate writes never overflow it.
	h = serve(t, Options{ClientBuffer: 16}, &fakeAuth{})
	h.Play(greeting)
	for range 20 {
		h.Play("C: NOOP\r\n", "S: 250 2.0.0 OK\r\n")
	}
}

func TestPipelinedAndLowercase(t *testing.T) {
	h := serve(t, Options{}, &fakeAuth{})
	h.Play(greeting, "C: ehlo x\r\nnoop\r\nrset\nhelo y\r\n",
		"S: 250-mx.example.com\r\n", "S: 250 AUTH PLAIN LOGIN\r\n",
		"S: 250 2.0.0 OK\r\n", "S: 250 2.0.0 OK\r\n", "S: 250 mx.example.com\r\n",
		"C: QUIT\r\n", "S: 221 2.0.0 Bye\r\n")
	h.Ended(session.ErrClosed)
	h.Closed()
}

// TestSASL covers the exchanges of SPEC §7 with and without initial
// responses.
func TestSASL(t *testing.T) {
	all := Options{Auth: []string{"plain", "login", "cram-md5", "external"}}
	cases := []struct {
		name  string
		lines []string
		user  string
		pass  string
		meth  string
	}{
		{"plain-ir", []string{"C: AUTH PLAIN AHUAcA==\r\n"}, "u", "p", "plain"},
		{"plain-authzid", []string{"C: AUTH PLAIN YWRtaW4AdQBw\r\n"}, "u", "p", "plain"},
		{"plain-challenge", []string{"C: auth plain\r\n", "S: 334 \r\n", "C: AHUAcA==\r\n"}, "u", "p", "plain"},
		{"plain-empty-user", []string{"C: AUTH PLAIN AABw\r\n"}, "", "p", "plain"},
		{"plain-extra-tokens", []string{"C: AUTH PLAIN\r\n", "S: 334 \r\n", "C: AHUAcA== ignored\r\n"}, "u", "p", "plain"},
		{"login", []string{"C: AUTH LOGIN\r\n", "S: 334 VXNlcm5hbWU6\r\n", "C: dQ==\r\n", "S: 334 UGFzc3dvcmQ6\r\n", "C: cA==\r\n"}, "u", "p", "plain"},
		{"login-ir", []string{"C: AUTH LOGIN Y2Fyb2w=\r\n", "S: 334 UGFzc3dvcmQ6\r\n", "C: cHc=\r\n"}, "carol", "pw", "plain"},
		{"login-empty", []string{"C: AUTH LOGIN\r\n", "S: 334 VXNlcm5hbWU6\r\n", "C: \r\n", "S: 334 UGFzc3dvcmQ6\r\n", "C: =\r\n"}, "", "", "plain"},
		{"external", []string{"C: AUTH EXTERNAL\r\n", "S: 334 VXNlcm5hbWU6\r\n", "C: ZXh0\r\n"}, "ext", "", "external"},
		{"external-ir", []string{"C: AUTH EXTERNAL ZWU=\r\n"}, "ee", "", "external"},
		{"cram-md5", []string{"C: AUTH CRAM-MD5\r\n"}, "carol", "0123456789abcdef0123456789abcdef", "cram-md5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:25")}}
			h := serve(t, all, auth)
			h.Play(append([]string{greeting}, tc.lines...)...)
			if tc.meth == "cram-md5" {
				h.C.SetReadDeadline(time.Now().Add(5 * time.Second))
				line, err := h.R.ReadString('\n')
				if err != nil || !strings.HasPrefix(line, "334 ") {
					t.Fatalf("challenge %q %v", line, err)
				}
				h.Play("C: Y2Fyb2wgMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\r\n")
			}
			l := loginOf(t, h)
			q := auth.Requests()[0]
			if q.User != tc.user || q.Pass != tc.pass || q.Method != tc.meth {
				t.Fatalf("request %+v", q)
			}
			if tc.meth == "cram-md5" {
				if !strings.HasPrefix(q.Salt, "<") || !strings.HasSuffix(q.Salt, "@mx.example.com>") {
					t.Fatalf("salt %q", q.Salt)
				}
				if l.Pass != "" {
					t.Fatalf("the CRAM-MD5 digest must not be used as a password: %q", l.Pass)
				}
			}
			if l.Method != tc.meth {
				t.Fatalf("login method %q", l.Method)
			}
		})
	}
}

// TestSASLRefusals: every refusal is "500 5.5.1 Invalid command", returns
// to the start state and is not counted for max_errors.
func TestSASLRefusals(t *testing.T) {
	bad := "S: 500 5.5.1 Invalid command\r\n"
	h := serve(t, Options{MaxErrors: 1}, &fakeAuth{})
	h.Play(greeting,
		"C: AUTH\r\n", "S: 501 5.5.4 Invalid argument\r\n",
		"C: AUTH CRAM-MD5\r\n", bad, "C: AUTH EXTERNAL ZWU=\r\n", bad, "C: AUTH FOO\r\n", bad,
		"C: AUTH PLAIN ####\r\n", bad, "C: AUTH PLAIN bm9udWw=\r\n", bad, "C: AUTH PLAIN AHVzZXI=\r\n", bad,
		"C: AUTH PLAIN a b\r\n", bad, "C: AUTH LOGIN a b\r\n", bad, "C: AUTH LOGIN ####\r\n", bad,
		"C: AUTH PLAIN\r\n", "S: 334 \r\n", "C: *\r\n", bad,
		"C: AUTH LOGIN\r\n", "S: 334 VXNlcm5hbWU6\r\n", "C: *\r\n", bad,
		"C: AUTH LOGIN\r\n", "S: 334 VXNlcm5hbWU6\r\n", "C: dQ==\r\n", "S: 334 UGFzc3dvcmQ6\r\n", "C: *\r\n", bad,
		"C: NOOP\r\n", "S: 250 2.0.0 OK\r\n")

	cram := Options{Auth: []string{"cram-md5", "external", "login"}}
	h = serve(t, cram, &fakeAuth{})
	h.Play(greeting, "C: AUTH CRAM-MD5 abc\r\n", bad, "C: AUTH CRAM-MD5\r\n")
	h.C.SetReadDeadline(time.Now().Add(5 * time.Second))
	first, _ := h.R.ReadString('\n')
	h.Play("C: *\r\n", bad, "C: AUTH CRAM-MD5\r\n")
	second, _ := h.R.ReadString('\n')
	if first != second || !strings.HasPrefix(first, "334 ") {
		t.Fatalf("salt not reused: %q %q", first, second)
	}
	h.Play("C: dXNlciBzaG9ydA==\r\n", bad, "C: AUTH EXTERNAL\r\n", "S: 334 VXNlcm5hbWU6\r\n", "C: #\r\n", bad,
		"C: NOOP\r\n", "S: 250 2.0.0 OK\r\n")
}

// TestSASLLineParserError: a SASL line with a bare CR is a parser error
// (counted) and ends the exchange.
func TestSASLLineParserError(t *testing.T) {
	h := serve(t, Options{MaxErrors: 2}, &fakeAuth{})
	h.Play(greeting, "C: AUTH PLAIN\r\n", "S: 334 \r\n", "C: AHUA\rcA==\r\n", "S: 500 5.5.1 Invalid command\r\n",
		"C: NOOP\r\n", "S: 250 2.0.0 OK\r\n", "C: XYZ\r\n", "S: 500 5.5.1 Invalid command\r\n")
	h.Ended(session.ErrClosed)
}

// TestAuthFailureWaitThenSuccess: Auth-Wait keeps the session; the retry
// is attempt 2; the deadline is re-armed.
func TestAuthFailureWaitThenSuccess(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{fail("Bad", "", 300*time.Millisecond), ok("127.0.0.1:25")}}
	h := serve(t, Options{}, auth, func(sc *session.Conn) { sc.Timeout = 700 * time.Millisecond })
	h.Play(greeting)
	time.Sleep(500 * time.Millisecond)
	h.Play("C: AUTH PLAIN AHUAcA==\r\n", "S: 535 5.7.0 Bad\r\n")
	time.Sleep(400 * time.Millisecond) // beyond the first deadline, within the re-armed one
	h.Play("C: AUTH PLAIN AHUAcDI=\r\n")
	l := loginOf(t, h)
	if l.Pass != "p2" {
		t.Fatalf("login %+v", l)
	}
	if q := auth.Requests()[1]; q.LoginAttempt != 2 || q.Pass != "p2" {
		t.Fatalf("retry %+v", q)
	}
}

// TestAuthServiceError: the auth service failing gives the internal error.
func TestAuthServiceError(t *testing.T) {
	h := serve(t, Options{}, &fakeAuth{})
	h.Play(greeting, "C: AUTH PLAIN AHUAcA==\r\n", "S: 451 4.3.2 Internal server error\r\n")
	h.Ended(nil)
	h.Closed()
}

// TestAuthOverrides: Auth-User and Auth-Pass of the answer replace the
// client's credentials in the login.
func TestAuthOverrides(t *testing.T) {
	resp := ok("127.0.0.1:25")
	resp.User, resp.HasUser, resp.Pass, resp.HasPass = "real-user", true, "real-pass", true
	h := serve(t, Options{}, &fakeAuth{Answers: []*authhttp.Response{resp}})
	h.Play(greeting, "C: AUTH PLAIN AHUAcA==\r\n")
	if l := loginOf(t, h); l.User != "real-user" || l.Pass != "real-pass" {
		t.Fatalf("login %+v", l)
	}
}

// TestMailRcpt covers SPEC §6.6: storage as typed, ordering replies,
// RSET/HELO clearing, the RCPT pipelined tail kept for the backend, and
// starttls only not applying.
func TestMailRcpt(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:25")}}
	none := Options{Auth: []string{"plain", "none"}, StartTLS: session.StartTLSOnly}
	h := serve(t, none, auth)
	h.Play(greeting,
		"C: MAIL\r\n", "S: 501 5.5.4 Invalid argument\r\n",
		"C: mail  FROM:<a@example.org>  SIZE=100  \r\n", "S: 250 2.0.0 OK\r\n",
		"C: MAIL FROM:<b@x>\r\n", "S: 503 5.5.1 Bad sequence of commands\r\n",
		"C: RSET\r\n", "S: 250 2.0.0 OK\r\n",
		"C: RCPT TO:<c@d>\r\n", "S: 503 5.5.1 Bad sequence of commands\r\n",
		"C: MAIL FROM:<z@b>\r\n", "S: 250 2.0.0 OK\r\n",
		"C: EHLO e\r\n", "S: 250-mx.example.com\r\n", "S: 250 STARTTLS\r\n",
		"C: RCPT TO:<c@d>\r\n", "S: 503 5.5.1 Bad sequence of commands\r\n", // EHLO forgot MAIL
		"C: MAIL FROM:<a\x00b>\r\n", "S: 501 5.5.4 Invalid argument\r\n",
		"C: EHLO e\x00f\r\n", "S: 501 5.5.4 Invalid argument\r\n",
		"C: MAIL FROM:<y@b>\r\n", "S: 250 2.0.0 OK\r\n",
		"C: RCPT\r\n", "S: 501 5.5.4 Invalid argument\r\n",
		"C: rcpt   TO:<c@d>   NOTIFY=NEVER\r\nRCPT TO:<e@f>\r\nDATA\r\n")
	l := loginOf(t, h)
	if l.MailFrom != "MAIL FROM:<y@b>" || l.RcptTo != "rcpt   TO:<c@d>   NOTIFY=NEVER" || l.Helo != "e" ||
		string(l.Pipelined) != "RCPT TO:<e@f>\r\nDATA\r\n" {
		t.Fatalf("login %+v", l)
	}
	q := auth.Requests()[0]
	if q.SMTPHelo != "e" || q.SMTPFrom != l.MailFrom || q.SMTPTo != l.RcptTo {
		t.Fatalf("request %+v", q)
	}
}

// TestControlBytesRefused: HELO/EHLO, MAIL and RCPT arguments holding a
// control byte (0x01, TAB, 0x0B, 0x1F, DEL) get "501 5.5.4 Invalid
// argument" at the command, not counted for max_errors (max_errors 1
// here), and never reach the auth service: the request carries the clean
// values given afterwards.
func TestControlBytesRefused(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:25")}}
	h := serve(t, Options{Auth: []string{"none"}, MaxErrors: 1}, auth)
	h.Play(greeting,
		"C: HELO a\x01b\r\n", "S: 501 5.5.4 Invalid argument\r\n",
		"C: EHLO a\x0bb\r\n", "S: 501 5.5.4 Invalid argument\r\n",
		"C: EHLO a\x7f\r\n", "S: 501 5.5.4 Invalid argument\r\n",
		"C: HELO clean\r\n", "S: 250 mx.example.com\r\n",
		"C: MAIL FROM:<a\x01@b>\r\n", "S: 501 5.5.4 Invalid argument\r\n",
		"C: MAIL FROM:<a@b> X=\x1f\r\n", "S: 501 5.5.4 Invalid argument\r\n",
		"C: MAIL FROM:<a@b>\tSIZE=1\r\n", "S: 501 5.5.4 Invalid argument\r\n",
		"C: MAIL FROM:<a@b>\r\n", "S: 250 2.0.0 OK\r\n",
		"C: RCPT TO:<c\x7f@d>\r\n", "S: 501 5.5.4 Invalid argument\r\n",
		"C: RCPT TO:<c@d>\x0b\r\n", "S: 501 5.5.4 Invalid argument\r\n",
		"C: RCPT TO:<c@d>\r\n")
	loginOf(t, h)
	q := auth.Requests()[0]
	if q.SMTPHelo != "clean" || q.SMTPFrom != "MAIL FROM:<a@b>" || q.SMTPTo != "RCPT TO:<c@d>" {
		t.Fatalf("request %+v", q)
	}
}

// TestMailRejectedLogged: MAIL without smtp_auth none is refused and
// logged with CR/LF shown as '_'.
func TestMailRejectedLogged(t *testing.T) {
	h := serve(t, Options{}, &fakeAuth{})
	h.Play(greeting, "C: MAIL FROM:<a@b>\r\n", "S: 530 5.7.1 Authentication required\r\n")
	if !strings.Contains(h.Log.String(), "client was rejected") || !strings.Contains(h.Log.String(), "MAIL FROM:<a@b>") {
		t.Fatalf("log %s", h.Log.String())
	}
}

// TestNoneNoStaleCredentials is nginx HEAD's behaviour: a failed AUTH
// leaves nothing behind for a later MAIL/RCPT under smtp_auth none.
func TestNoneNoStaleCredentials(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{fail("Bad", "", 100*time.Millisecond), ok("127.0.0.1:25")}}
	h := serve(t, Options{Auth: []string{"plain", "none"}}, auth)
	h.Play(greeting, "C: EHLO e\r\nAUTH PLAIN AG9sZHVzZXIAb2xkcHc=\r\n",
		"S: 250-mx.example.com\r\n", "S: 250 AUTH PLAIN\r\n", "S: 535 5.7.0 Bad\r\n",
		"C: MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n", "S: 250 2.0.0 OK\r\n")
	l := loginOf(t, h)
	q := auth.Requests()[1]
	if q.Method != "none" || q.User != "" || q.Pass != "" || q.LoginAttempt != 2 || l.User != "" || l.Pass != "" {
		t.Fatalf("request %+v login %+v", q, l)
	}
}

// TestNoneFailure: a refused relay closes with the auth service's code.
func TestNoneFailure(t *testing.T) {
	h := serve(t, Options{Auth: []string{"none"}}, &fakeAuth{Answers: []*authhttp.Response{fail("Relay denied", "550 5.7.1", 0)}})
	h.Play(greeting, "C: MAIL FROM:<a@b>\r\n", "S: 250 2.0.0 OK\r\n", "C: RCPT TO:<c@d>\r\n", "S: 550 5.7.1 Relay denied\r\n")
	h.Ended(session.ErrClosed)
	h.Closed()
}

// TestStartTLS: the reply is sent in clear, buffered plaintext is
// discarded, HELO/MAIL/RCPT are forgotten but ESMTP is not; no greeting
// follows; the EHLO reply switches to the TLS variant.
func TestStartTLS(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:25")}}
	upgraded := make(chan time.Time, 1)
	h := serve(t, Options{StartTLS: session.StartTLSOn, Auth: []string{"plain", "none"}}, auth, func(sc *session.Conn) {
		sc.StartTLS = func(deadline time.Time) error {
			upgraded <- deadline
			sc.TLS = true // the test keeps the plain connection
			return nil
		}
	})
	h.Play(greeting, "C: EHLO a\r\nMAIL FROM:<a@b>\r\n",
		"S: 250-mx.example.com\r\n", "S: 250-AUTH PLAIN\r\n", "S: 250 STARTTLS\r\n", "S: 250 2.0.0 OK\r\n",
		"C: STARTTLS\r\nAUTH PLAIN AHUAcA==\r\n", "S: 220 2.0.0 Start TLS\r\n")
	select {
	case d := <-upgraded:
		if time.Until(d) > 5*time.Second || time.Until(d) < 4*time.Second {
			t.Fatalf("handshake deadline %v is not the pre-auth deadline", time.Until(d))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no handshake")
	}
	h.Silent(100 * time.Millisecond) // the pipelined AUTH was discarded
	h.Play("C: STARTTLS\r\n", "S: 500 5.5.1 Invalid command\r\n",
		"C: RCPT TO:<c@d>\r\n", "S: 503 5.5.1 Bad sequence of commands\r\n",
		"C: EHLO b\r\n", "S: 250-mx.example.com\r\n", "S: 250 AUTH PLAIN\r\n",
		"C: STARTTLS\r\n", "S: 500 5.5.1 Invalid command\r\n")
	h.Play("C: AUTH PLAIN AHUAcA==\r\n")
	if l := loginOf(t, h); l.Helo != "b" || !l.ESMTP {
		t.Fatalf("login %+v", l)
	}
	if n := len(auth.Requests()); n != 1 {
		t.Fatalf("%d auth requests", n)
	}
}

// TestStartTLSClearsHelo: after STARTTLS the HELO name is gone (nothing
// to replay) but the session stays ESMTP.
func TestStartTLSClearsHelo(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:25")}}
	h := serve(t, Options{StartTLS: session.StartTLSOn}, auth, func(sc *session.Conn) {
		sc.StartTLS = func(time.Time) error { sc.TLS = true; return nil }
	})
	h.Play(greeting, "C: EHLO a\r\n", "S: 250-mx.example.com\r\n", "S: 250-AUTH PLAIN LOGIN\r\n", "S: 250 STARTTLS\r\n",
		"C: STARTTLS\r\n", "S: 220 2.0.0 Start TLS\r\n", "C: AUTH PLAIN AHUAcA==\r\n")
	if l := loginOf(t, h); l.Helo != "" || !l.ESMTP {
		t.Fatalf("login %+v", l)
	}
}

// TestStartTLSOnly: AUTH is refused before TLS (500, not counted) while
// MAIL/RCPT under none are not.
func TestStartTLSOnly(t *testing.T) {
	h := serve(t, Options{StartTLS: session.StartTLSOnly, MaxErrors: 1}, &fakeAuth{})
	h.Play(greeting, "C: AUTH PLAIN AHUAcA==\r\n", "S: 500 5.5.1 Invalid command\r\n",
		"C: AUTH\r\n", "S: 500 5.5.1 Invalid command\r\n",
		"C: NOOP\r\n", "S: 250 2.0.0 OK\r\n")
}

// TestStartTLSFailure: a failed handshake ends the session.
func TestStartTLSFailure(t *testing.T) {
	h := serve(t, Options{StartTLS: session.StartTLSOn}, &fakeAuth{})
	h.Play(greeting, "C: STARTTLS\r\n", "S: 220 2.0.0 Start TLS\r\n")
	h.Ended(nil)
}

func TestQuit(t *testing.T) {
	h := serve(t, Options{}, &fakeAuth{})
	h.Play(greeting, "C: QUIT\r\nNOOP\r\n", "S: 221 2.0.0 Bye\r\n")
	h.Ended(session.ErrClosed)
	h.Closed()
}

// TestPreauthTimeout: the deadline runs from the greeting and commands do
// not re-arm it (SPEC §2.3).
func TestPreauthTimeout(t *testing.T) {
	h := serve(t, Options{}, &fakeAuth{}, func(sc *session.Conn) { sc.Timeout = 400 * time.Millisecond })
	start := time.Now()
	h.Play(greeting)
	for range 3 {
		time.Sleep(100 * time.Millisecond)
		h.Play("C: NOOP\r\n", "S: 250 2.0.0 OK\r\n")
	}
	err := h.Ended(nil)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Fatalf("timed out after %v", d)
	}
}

// TestGreetingDelay: the greeting comes after smtp_greeting_delay and the
// deadline starts then.
func TestGreetingDelay(t *testing.T) {
	h := serve(t, Options{GreetingDelay: 300 * time.Millisecond}, &fakeAuth{})
	start := time.Now()
	h.Play(greeting)
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("greeting after %v", d)
	}
	h.Play("C: EHLO x\r\n", "S: 250-mx.example.com\r\n", "S: 250 AUTH PLAIN LOGIN\r\n")
}

// TestGreetingDelayEarlyTalker: a client that talks first gets the
// pipelining error, never the greeting, and is disconnected.
func TestGreetingDelayEarlyTalker(t *testing.T) {
	h := serve(t, Options{GreetingDelay: time.Second}, &fakeAuth{})
	h.Play("C: EHLO early\r\n", "S: 503 5.5.0 Improper use of SMTP command pipelining\r\n")
	h.Ended(session.ErrClosed)
	h.Closed()
	if !strings.Contains(h.Log.String(), `length=12 data=EHLO_early__`) && !strings.Contains(h.Log.String(), `length=12 data="EHLO early__"`) {
		t.Fatalf("log %s", h.Log.String())
	}
}

// TestGreetingDelayEarlyTalkerRedacted: an early talker's SASL payloads
// never reach the log (an AUTH PLAIN blob with a password, a SASL
// response line); its length and a short prefix do.
func TestGreetingDelayEarlyTalkerRedacted(t *testing.T) {
	h := serve(t, Options{GreetingDelay: time.Second}, &fakeAuth{})
	in := "EHLO x\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"
	h.Play("C: "+in, "S: 503 5.5.0 Improper use of SMTP command pipelining\r\n")
	h.Ended(session.ErrClosed)
	log := h.Log.String()
	if !strings.Contains(log, `length=41 data="EHLO x__AUTH PLAIN [redacted]__"`) || strings.Contains(log, "AGFsaWNl") {
		t.Fatalf("log %s", log)
	}
}

// TestEarlyData: what the log shows of early input.
func TestEarlyData(t *testing.T) {
	for in, want := range map[string]string{
		"EHLO early\r\n":                         "EHLO early__",
		"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n":    "AUTH PLAIN [redacted]__",
		"auth login\r\nYWxpY2U=\r\nc2VjcmV0\r\n": "auth login__[redacted]__[redacted]__",
		"AUTH LOGIN YWxpY2U=":                    "AUTH LOGIN [redacted]",
		"AUTH\r\n":                               "AUTH__",
		"AGFsaWNlAHNlY3JldA==":                   "[redacted]",
		"MAIL FROM:<a@example.org> SIZE=1000000\r\nRCPT TO:<b@example.org>\r\n": "MAIL FROM:<a@example.org> SIZE=1000000__",
		"HELO x\nHELO y\nHELO z\nHELO w\nHELO v\nHELO u\nHELO t\nHELO s\n":      "HELO x_HELO y_HELO z_HELO w_HELO v_HELO ",
		"": "",
	} {
		if got := earlyData([]byte(in)); got != want {
			t.Errorf("earlyData(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEarlyInputWithoutDelay: without a greeting delay early input is
// simply processed after the greeting.
func TestEarlyInputWithoutDelay(t *testing.T) {
	h := serve(t, Options{}, &fakeAuth{})
	h.Play("C: NOOP\r\n", greeting, "S: 250 2.0.0 OK\r\n")
}

// TestGreetingDelayClientLeaves: EOF during the delay ends the session
// silently.
func TestGreetingDelayClientLeaves(t *testing.T) {
	h := serve(t, Options{GreetingDelay: time.Second}, &fakeAuth{})
	h.C.(*net.TCPConn).CloseWrite()
	h.Ended(nil)
	h.Closed()
}

// TestUnknownVerbsAreParserErrors checks the verb rules of SPEC §3.1/§6.4.
func TestUnknownVerbsAreParserErrors(t *testing.T) {
	h := serve(t, Options{MaxErrors: 100}, &fakeAuth{})
	h.Play(greeting)
	for _, v := range []string{"DATA", "BDAT 1", "XCLIENT ADDR=1.2.3.4", "ETRN x", "STARTTLSX", "NOOP1", "NO-OP", "\tNOOP"} {
		h.Play("C: "+v+"\r\n", "S: 500 5.5.1 Invalid command\r\n")
	}
}

// TestAuthAfterMail: AUTH after a stored MAIL is an ordinary login; the
// MAIL is not part of it (nginx replays MAIL/RCPT only for method none).
func TestAuthAfterMail(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:25")}}
	h := serve(t, Options{Auth: []string{"plain", "none"}}, auth)
	h.Play(greeting, "C: MAIL FROM:<a@b>\r\n", "S: 250 2.0.0 OK\r\n", "C: AUTH PLAIN AHUAcA==\r\n")
	l := loginOf(t, h)
	if l.Method != "plain" || l.MailFrom != "" || l.RcptTo != "" || auth.Requests()[0].SMTPFrom != "" {
		t.Fatalf("login %+v", l)
	}
}
