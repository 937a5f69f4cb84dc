package pop3

import (
	"regexp"
	"testing"

	"mailproxy/authhttp"
	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

var saltGreeting = regexp.MustCompile(`^\+OK POP3 ready (<[0-9]+\.[0-9]+@mx\.example\.com>)\r\n$`)

// greetingSalt reads a salted greeting and returns the salt.
func greetingSalt(t *testing.T, e *sessiontest.Harness) string {
	t.Helper()
	g := e.Line()
	m := saltGreeting.FindStringSubmatch(g)
	if m == nil {
		t.Fatalf("greeting %q has no salt", g)
	}
	return m[1]
}

// TestAppendixA4 is SPEC Appendix A.4: APOP enabled, CAPA, a parser
// error, USER and a PASS with spaces.
func TestAppendixA4(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:110")}}
	e := serve(t, Options{Auth: []string{"plain", "apop"}}, auth)
	greetingSalt(t, e)
	e.Play(
		"C: CAPA\r\n",
		"S: +OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nSASL PLAIN LOGIN\r\n.\r\n",
		"C: STAT\r\n", "S: -ERR invalid command\r\n",
		"C: USER bob\r\n", "S: +OK\r\n",
		"C: PASS pass with space\r\n",
	)
	l := e.Login()
	if l.User != "bob" || l.Pass != "pass with space" || l.Backend.String() != "127.0.0.1:110" || l.Upstream != "127.0.0.1:110" || len(l.Pipelined) != 0 {
		t.Fatalf("login %+v", l)
	}
	q := auth.Requests()[0]
	if q.Method != "plain" || q.User != "bob" || q.Pass != "pass with space" || q.Salt != "" || q.Protocol != "pop3" || q.LoginAttempt != 1 {
		t.Fatalf("request %+v", q)
	}
}

func TestGreeting(t *testing.T) {
	e := serve(t, Options{}, &fakeAuth{})
	e.Play("S: +OK POP3 ready\r\n")
	e.Silent(100e6)
	for _, m := range [][]string{{"apop"}, {"cram-md5"}, {"plain", "external", "apop"}} {
		e := serve(t, Options{Auth: m}, &fakeAuth{})
		greetingSalt(t, e)
	}
	e = serve(t, Options{Auth: []string{"plain", "external"}}, &fakeAuth{})
	e.Play("S: +OK POP3 ready\r\n")
}

// TestCapa covers the CAPA variants of SPEC §5.5.
func TestCapa(t *testing.T) {
	all := []string{"plain", "apop", "cram-md5", "external"}
	const head = "+OK Capability list follows\r\n"
	cases := []struct {
		name string
		o    Options
		tls  bool
		want string
	}{
		{"default", Options{}, false, head + "TOP\r\nUSER\r\nUIDL\r\nSASL PLAIN LOGIN\r\n.\r\n"},
		{"all-starttls-on", Options{Auth: all, StartTLS: session.StartTLSOn}, false, head + "TOP\r\nUSER\r\nUIDL\r\nSASL PLAIN LOGIN CRAM-MD5 EXTERNAL\r\nSTLS\r\n.\r\n"},
		{"all-after-tls", Options{Auth: all, StartTLS: session.StartTLSOn}, true, head + "TOP\r\nUSER\r\nUIDL\r\nSASL PLAIN LOGIN CRAM-MD5 EXTERNAL\r\n.\r\n"},
		{"only", Options{StartTLS: session.StartTLSOnly}, false, head + "TOP\r\nUIDL\r\nSTLS\r\n.\r\n"},
		{"only-user-any-case", Options{StartTLS: session.StartTLSOnly, Capabilities: []string{"user", "TOP", "UsEr"}}, false, head + "TOP\r\nSTLS\r\n.\r\n"},
		{"only-after-tls", Options{StartTLS: session.StartTLSOnly}, true, head + "TOP\r\nUSER\r\nUIDL\r\nSASL PLAIN LOGIN\r\n.\r\n"},
		{"apop-only", Options{Auth: []string{"apop"}, Capabilities: []string{"TOP", "UIDL"}}, false, head + "TOP\r\nUIDL\r\nSASL\r\n.\r\n"},
		{"no-items", Options{Capabilities: []string{}}, false, head + "SASL PLAIN LOGIN\r\n.\r\n"},
		{"order-fixed", Options{Auth: []string{"external", "cram-md5"}}, false, head + "TOP\r\nUSER\r\nUIDL\r\nSASL CRAM-MD5 EXTERNAL\r\n.\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := serve(t, tc.o, &fakeAuth{}, func(c *session.Conn) { c.TLS = tc.tls })
			e.Line()
			e.Play("C: CAPA\r\n", "S: "+tc.want)
		})
	}
}

// TestAuthListing covers AUTH without an argument (SPEC §5.5).
func TestAuthListing(t *testing.T) {
	cases := []struct {
		auth []string
		want string
	}{
		{[]string{"plain"}, "+OK methods supported:\r\nPLAIN\r\nLOGIN\r\n.\r\n"},
		{[]string{"external", "apop", "cram-md5", "plain"}, "+OK methods supported:\r\nPLAIN\r\nLOGIN\r\nCRAM-MD5\r\nEXTERNAL\r\n.\r\n"},
		{[]string{"apop"}, "+OK methods supported:\r\n.\r\n"},
	}
	for _, tc := range cases {
		e := serve(t, Options{Auth: tc.auth}, &fakeAuth{})
		e.Line()
		e.Play("C: AUTH\r\n", "S: "+tc.want, "C: auth  \r\n", "S: "+tc.want)
	}
}

func TestQuitAndNoop(t *testing.T) {
	e := serve(t, Options{}, &fakeAuth{})
	e.Play("S: +OK POP3 ready\r\n", "C: NOOP\r\n", "S: +OK\r\n", "C: noop x y z\r\n", "S: +OK\r\n", "C: QUIT\r\n", "S: +OK\r\n")
	e.CloseWith(session.ErrClosed)

	e = serve(t, Options{}, &fakeAuth{})
	e.Play("S: +OK POP3 ready\r\n", "C: USER bob\r\n", "S: +OK\r\n", "C: NOOP\r\n", "S: +OK\r\n", "C: quit\r\n", "S: +OK\r\n")
	e.CloseWith(session.ErrClosed)
}

// TestStartState covers the refusals of SPEC §5.3: none of them counts
// for max_errors.
func TestStartState(t *testing.T) {
	e := serve(t, Options{MaxErrors: 1, Auth: []string{"plain"}}, &fakeAuth{})
	e.Play("S: +OK POP3 ready\r\n",
		"C: PASS x\r\n", "S: -ERR invalid command\r\n",
		"C: USER\r\n", "S: -ERR invalid command\r\n",
		"C: USER   \r\n", "S: -ERR invalid command\r\n",
		"C: APOP a b\r\n", "S: -ERR invalid command\r\n", // apop not enabled
		"C: STLS\r\n", "S: -ERR invalid command\r\n", // starttls off
		"C: AUTH CRAM-MD5\r\n", "S: -ERR invalid command\r\n",
		"C: AUTH EXTERNAL\r\n", "S: -ERR invalid command\r\n",
		"C: AUTH EXTERNAL ZQ==\r\n", "S: -ERR invalid command\r\n",
		"C: AUTH FOO\r\n", "S: -ERR invalid command\r\n",
		"C: NOOP\r\n", "S: +OK\r\n",
	)
}

// TestUserState covers SPEC §5.4: CAPA never offers STLS there, and any
// other command is refused and forgets the user.
func TestUserState(t *testing.T) {
	o := Options{Auth: []string{"plain", "apop"}, StartTLS: session.StartTLSOn}
	e := serve(t, o, &fakeAuth{})
	greetingSalt(t, e)
	e.Play(
		"C: USER x\r\n", "S: +OK\r\n",
		"C: CAPA\r\n", "S: +OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nSASL PLAIN LOGIN\r\n.\r\n",
		"C: NOOP\r\n", "S: +OK\r\n",
		"C: STLS\r\n", "S: -ERR invalid command\r\n",
		"C: PASS x\r\n", "S: -ERR invalid command\r\n", // back in "start"
	)
	for _, other := range []string{"USER y\r\n", "AUTH\r\n", "APOP a b\r\n", "STAT\r\n", "PASS\r\n", "PASS \r\n"} {
		e.Play("C: USER x\r\n", "S: +OK\r\n", "C: "+other, "S: -ERR invalid command\r\n", "C: PASS x\r\n", "S: -ERR invalid command\r\n")
	}
}

// TestUserPassSpaces: USER and PASS keep inner and trailing spaces; the
// leading ones are skipped (SPEC §5.2).
func TestUserPassSpaces(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:110")}}
	e := serve(t, Options{}, auth)
	e.Play("S: +OK POP3 ready\r\n", "C: user   a b \r\n", "S: +OK\r\n", "C: PASS  p\tq  r \r\n")
	l := e.Login()
	if l.User != "a b " || l.Pass != "p\tq  r " {
		t.Fatalf("login %+v", l)
	}
}

// TestAPOP covers APOP: argument counts, the salt in the request, and
// the Auth-User/Auth-Pass overrides of the answer.
func TestAPOP(t *testing.T) {
	resp := ok("127.0.0.1:110")
	resp.User, resp.HasUser, resp.Pass, resp.HasPass = "robert", true, "secret", true
	auth := &fakeAuth{Answers: []*authhttp.Response{resp}}
	e := serve(t, Options{Auth: []string{"plain", "apop"}}, auth)
	salt := greetingSalt(t, e)
	const digest = "0123456789abcdef0123456789abcdef"
	e.Play(
		"C: APOP bob\r\n", "S: -ERR invalid command\r\n",
		"C: APOP a b c\r\n", "S: -ERR invalid command\r\n",
		"C: apop bob "+digest+"\r\nQUIT\r\n",
	)
	l := e.Login()
	if l.User != "robert" || l.Pass != "secret" || string(l.Pipelined) != "QUIT\r\n" {
		t.Fatalf("login %+v", l)
	}
	q := auth.Requests()[0]
	if q.Method != "apop" || q.User != "bob" || q.Pass != digest || q.Salt != salt || q.LoginAttempt != 1 {
		t.Fatalf("request %+v (salt %q)", q, salt)
	}
}

// TestStartTLSOnlyRefusals: before TLS, USER, APOP and AUTH (even the
// listing) are refused and not counted (SPEC §8.2).
func TestStartTLSOnlyRefusals(t *testing.T) {
	auth := &fakeAuth{}
	e := serve(t, Options{StartTLS: session.StartTLSOnly, Auth: []string{"plain", "apop"}, MaxErrors: 1}, auth)
	greetingSalt(t, e)
	e.Play(
		"C: USER x\r\n", "S: -ERR invalid command\r\n",
		"C: AUTH\r\n", "S: -ERR invalid command\r\n",
		"C: AUTH PLAIN\r\n", "S: -ERR invalid command\r\n",
		"C: AUTH PLAIN AHUAcA==\r\n", "S: -ERR invalid command\r\n",
		"C: APOP a b\r\n", "S: -ERR invalid command\r\n",
		"C: NOOP\r\n", "S: +OK\r\n",
	)
	if len(auth.Requests()) != 0 {
		t.Fatal("credentials reached the auth service before TLS")
	}
}

// TestImplicitTLSRefusesSTLS: a TLS connection gets the plain CAPA and
// STLS is refused.
func TestImplicitTLSRefusesSTLS(t *testing.T) {
	e := serve(t, Options{StartTLS: session.StartTLSOnly}, &fakeAuth{}, func(c *session.Conn) { c.TLS = true })
	e.Play("S: +OK POP3 ready\r\n", "C: STLS\r\n", "S: -ERR invalid command\r\n", "C: USER u\r\n", "S: +OK\r\n")
}
