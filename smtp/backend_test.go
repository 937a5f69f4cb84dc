package smtp

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

// runBackend plays script against the SMTP backend login of a server
// with o (server_name mx.example.com unless set) for l (see
// sessiontest.PlayBackend).
func runBackend(t *testing.T, o Options, l *testLogin, script ...string) ([]byte, error) {
	t.Helper()
	if o.ServerName == "" {
		o.ServerName = "mx.example.com"
	}
	return sessiontest.PlayBackend(t, NewServer(o).Handover(l.Envelope), l.Login, 4096, script...).Strict(t)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func client(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// login returns a Login as Serve makes it for method m.
func mkLogin(method, user, pass, helo string, esmtp bool) *testLogin {
	l := &testLogin{&session.Login{User: user, Pass: pass}, Envelope{
		Method: method, Helo: helo, ESMTP: esmtp,
		ClientHost: "[UNAVAILABLE]", Client: client("192.0.2.10:1234"),
	}}
	if method == "none" {
		l.MailFrom, l.RcptTo = "MAIL FROM:<a@example.org>", "RCPT TO:<b@example.com>"
	}
	return l
}

// TestLoginBackendTable runs every row of SPEC §11.4's table, with and
// without a client HELO/EHLO.
func TestLoginBackendTable(t *testing.T) {
	const (
		greet  = "B: 220 be ESMTP\r\n"
		ok250  = "B: 250 be\r\n"
		xok    = "B: 220 be xclient ok\r\n"
		authOK = "B: 235 2.7.0 Authentication successful\r\n"
		plain  = "S: AUTH PLAIN AGNhcm9sAHNlY3JldA==\r\n"
		rcpt   = "B: 250 2.1.5 Ok\r\n"
	)
	none := []string{"S: MAIL FROM:<a@example.org>\r\n", "B: 250 2.1.0 Ok\r\n", "S: RCPT TO:<b@example.com>\r\n", rcpt}
	cases := []struct {
		name   string
		o      Options
		l      *testLogin
		script []string
		relay  string
	}{
		{"off-auth-helo", Options{}, mkLogin("plain", "carol", "secret", "h", false),
			[]string{greet, "S: HELO mx.example.com\r\n", ok250}, "235 2.0.0 OK\r\n"},
		{"off-auth-ehlo", Options{}, mkLogin("plain", "carol", "secret", "e", true),
			[]string{greet, "S: EHLO mx.example.com\r\n", ok250}, "235 2.0.0 OK\r\n"},
		{"off-auth-proxyauth", Options{ProxySMTPAuth: true}, mkLogin("plain", "carol", "secret", "h", false),
			[]string{greet, "S: HELO mx.example.com\r\n", ok250, plain, authOK}, "235 2.0.0 OK\r\n"},
		{"off-none", Options{}, mkLogin("none", "", "", "client.example.org", false),
			append([]string{greet, "S: HELO mx.example.com\r\n", ok250}, none...), "250 2.1.5 Ok\r\n"},
		{"off-none-proxyauth", Options{ProxySMTPAuth: true}, mkLogin("none", "", "", "", true),
			append([]string{greet, "S: EHLO mx.example.com\r\n", ok250}, none...), "250 2.1.5 Ok\r\n"},
		{"on-auth", Options{XClient: true}, mkLogin("plain", "carol", "secret", "", false),
			[]string{greet, "S: EHLO mx.example.com\r\n", ok250,
				"S: XCLIENT ADDR=192.0.2.10 LOGIN=carol NAME=[UNAVAILABLE]\r\n", xok}, "235 2.0.0 OK\r\n"},
		{"on-auth-client-ehlo", Options{XClient: true}, mkLogin("plain", "carol", "secret", "client.example.org", true),
			[]string{greet, "S: EHLO mx.example.com\r\n", ok250,
				"S: XCLIENT ADDR=192.0.2.10 LOGIN=carol NAME=[UNAVAILABLE]\r\n", xok,
				"S: EHLO client.example.org\r\n", ok250}, "235 2.0.0 OK\r\n"},
		{"on-auth-client-helo", Options{XClient: true}, mkLogin("plain", "carol", "secret", "h1", false),
			[]string{greet, "S: EHLO mx.example.com\r\n", ok250,
				"S: XCLIENT ADDR=192.0.2.10 LOGIN=carol NAME=[UNAVAILABLE]\r\n", "B: 250 ok\r\n",
				"S: HELO h1\r\n", ok250}, "235 2.0.0 OK\r\n"},
		{"on-auth-proxyauth", Options{XClient: true, ProxySMTPAuth: true}, mkLogin("plain", "carol", "secret", "e1", true),
			[]string{greet, "S: EHLO mx.example.com\r\n", ok250,
				"S: XCLIENT ADDR=192.0.2.10 NAME=[UNAVAILABLE]\r\n", xok,
				"S: EHLO e1\r\n", ok250, plain, authOK}, "235 2.0.0 OK\r\n"},
		{"on-auth-proxyauth-no-helo", Options{XClient: true, ProxySMTPAuth: true}, mkLogin("plain", "carol", "secret", "", false),
			[]string{greet, "S: EHLO mx.example.com\r\n", ok250,
				"S: XCLIENT ADDR=192.0.2.10 NAME=[UNAVAILABLE]\r\n", xok, plain, authOK}, "235 2.0.0 OK\r\n"},
		{"on-none", Options{XClient: true}, mkLogin("none", "", "", "", false),
			append([]string{greet, "S: EHLO mx.example.com\r\n", ok250,
				"S: XCLIENT ADDR=192.0.2.10 NAME=[UNAVAILABLE]\r\n", xok}, none...), "250 2.1.5 Ok\r\n"},
		{"on-none-client-ehlo", Options{XClient: true}, mkLogin("none", "", "", "e", true),
			append([]string{greet, "S: EHLO mx.example.com\r\n", ok250,
				"S: XCLIENT ADDR=192.0.2.10 NAME=[UNAVAILABLE]\r\n", xok, "S: EHLO e\r\n", ok250}, none...), "250 2.1.5 Ok\r\n"},
		{"on-none-overridden-user", Options{XClient: true}, mkLogin("none", "relay", "", "", false),
			append([]string{greet, "S: EHLO mx.example.com\r\n", ok250,
				"S: XCLIENT ADDR=192.0.2.10 LOGIN=relay NAME=[UNAVAILABLE]\r\n", xok}, none...), "250 2.1.5 Ok\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			relay, err := runBackend(t, c.o, c.l, c.script...)
			if err != nil || string(relay) != c.relay {
				t.Fatalf("relay %q, err %v", relay, err)
			}
		})
	}
}

// TestXClientLine checks the XCLIENT attributes: IPV6: prefix, xtext
// LOGIN, NAME from the host lookup.
func TestXClientLine(t *testing.T) {
	cases := []struct {
		l    *testLogin
		auth bool
		want string
	}{
		{&testLogin{&session.Login{User: "u"}, Envelope{Client: client("[2001:db8::1]:1000"), ClientHost: "[UNAVAILABLE]"}}, false,
			"XCLIENT ADDR=IPV6:2001:db8::1 LOGIN=u NAME=[UNAVAILABLE]"},
		{&testLogin{&session.Login{User: "a b+c="}, Envelope{Client: client("127.0.0.1:1"), ClientHost: "[UNAVAILABLE]"}}, false,
			"XCLIENT ADDR=127.0.0.1 LOGIN=a+20b+2Bc+3D NAME=[UNAVAILABLE]"},
		{&testLogin{&session.Login{User: "\x00\r\n\x7f\xc3\xbc%"}, Envelope{Client: client("127.0.0.1:1"), ClientHost: "h.example.org"}}, false,
			"XCLIENT ADDR=127.0.0.1 LOGIN=+00+0D+0A+7F+C3+BC% NAME=h.example.org"},
		{&testLogin{&session.Login{User: "u"}, Envelope{Client: client("127.0.0.1:1"), ClientHost: "[TEMPUNAVAIL]"}}, true,
			"XCLIENT ADDR=127.0.0.1 NAME=[TEMPUNAVAIL]"},
		{&testLogin{&session.Login{}, Envelope{Client: client("127.0.0.1:1")}}, false, "XCLIENT ADDR=127.0.0.1 NAME=[UNAVAILABLE]"},
	}
	for _, c := range cases {
		if got := xclientLine(c.l.User, &c.l.Envelope, c.auth); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

// TestLoginBackendMultiline: replies are read up to their last line, even
// when it arrives in pieces, and judged by the first line's code.
func TestLoginBackendMultiline(t *testing.T) {
	l := mkLogin("plain", "u", "p", "", false)
	relay, err := runBackend(t, Options{XClient: true}, l,
		"B: 220-be\r\n", "W: ", "B: 220-more\r\n", "W: ", "B: 220 ESMTP\r\n",
		"S: EHLO mx.example.com\r\n", "B: 250-be\r\n250-X", "W: ", "B: \r\n250 Y\r\n",
		"S: XCLIENT ADDR=192.0.2.10 LOGIN=u NAME=[UNAVAILABLE]\r\n", "B: 250 ok\r\n")
	if err != nil || string(relay) != "235 2.0.0 OK\r\n" {
		t.Fatalf("%q %v", relay, err)
	}
	// For method none the whole multi-line RCPT reply is relayed.
	l = mkLogin("none", "", "", "", false)
	relay, err = runBackend(t, Options{}, l,
		"B: 220 be\r\n", "S: HELO mx.example.com\r\n", "B: 250 be\r\n",
		"S: MAIL FROM:<a@example.org>\r\n", "B: 250 ok\r\n",
		"S: RCPT TO:<b@example.com>\r\n", "B: 550-no such\r\n", "W: ", "B: 550 user\r\n")
	if err != nil || string(relay) != "550-no such\r\n550 user\r\n" {
		t.Fatalf("%q %v", relay, err)
	}
}

func TestLastLine(t *testing.T) {
	cases := map[string]bool{
		"250 ok\r\n":                true,
		"250\r\n":                   true,
		"250-a\r\n":                 false,
		"250-a\r\n250 b\r\n":        true,
		"250-a\r\n250-b\r\n":        false,
		"250-a\r\n250-b\r\n250\r\n": true,
		"250-\r\n":                  false,
		"250-a\r\n25\r\n":           false, // too short a last line: nginx looks further back
	}
	for in, want := range cases {
		if got := lastLine([]byte(in)); got != want {
			t.Errorf("lastLine(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestLoginBackendFailures: rejections carry the backend's reply (for
// proxy_pass_error_message); transport failures do not.
func TestLoginBackendFailures(t *testing.T) {
	auth := mkLogin("plain", "u", "p", "", false)
	cases := []struct {
		name   string
		o      Options
		l      *testLogin
		script []string
		text   string
		reply  string
	}{
		{"bad-greeting", Options{}, auth, []string{"B: 554 go away\r\n"}, "554 go away", "554 go away\r\n"},
		{"greeting-250", Options{}, auth, []string{"B: 250 hi\r\n"}, "250 hi", "250 hi\r\n"},
		{"ehlo-rejected", Options{XClient: true}, auth, []string{"B: 220 be\r\n", "S: EHLO mx.example.com\r\n", "B: 502 no ehlo\r\n"},
			"502 no ehlo", "502 no ehlo\r\n"},
		{"xclient-rejected", Options{XClient: true}, auth, []string{"B: 220 be\r\n", "S: EHLO mx.example.com\r\n", "B: 250 be\r\n",
			"S: XCLIENT ADDR=192.0.2.10 LOGIN=u NAME=[UNAVAILABLE]\r\n", "B: 550-no\r\n550 really no\r\n"},
			"550-no\r\n550 really no", "550-no\r\n550 really no\r\n"},
		{"xclient-235", Options{XClient: true}, auth, []string{"B: 220 be\r\n", "S: EHLO mx.example.com\r\n", "B: 250 be\r\n",
			"S: XCLIENT ADDR=192.0.2.10 LOGIN=u NAME=[UNAVAILABLE]\r\n", "B: 235 hm\r\n"}, "235 hm", "235 hm\r\n"},
		{"client-helo-rejected", Options{XClient: true}, mkLogin("plain", "u", "p", "h", false), []string{"B: 220 be\r\n",
			"S: EHLO mx.example.com\r\n", "B: 250 be\r\n", "S: XCLIENT ADDR=192.0.2.10 LOGIN=u NAME=[UNAVAILABLE]\r\n", "B: 220 ok\r\n",
			"S: HELO h\r\n", "B: 220 odd\r\n"}, "220 odd", "220 odd\r\n"},
		{"auth-rejected", Options{ProxySMTPAuth: true}, auth, []string{"B: 220 be\r\n", "S: HELO mx.example.com\r\n", "B: 250 be\r\n",
			"S: AUTH PLAIN AHUAcA==\r\n", "B: 535 5.7.8 bad creds\r\n"}, "535 5.7.8 bad creds", "535 5.7.8 bad creds\r\n"},
		{"mail-rejected", Options{}, mkLogin("none", "", "", "", false), []string{"B: 220 be\r\n", "S: HELO mx.example.com\r\n", "B: 250 be\r\n",
			"S: MAIL FROM:<a@example.org>\r\n", "B: 451 later\r\n"}, "451 later", "451 later\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := runBackend(t, c.o, c.l, c.script...)
			var be *session.BackendError
			if !errors.As(err, &be) || be.Text != c.text || string(be.Reply) != c.reply {
				t.Fatalf("err = %#v", err)
			}
		})
	}
}

// TestNoPasswordAvailable: proxy_smtp_auth without a password (CRAM-MD5 or
// EXTERNAL and no Auth-Pass) is an internal error before any AUTH.
func TestNoPasswordAvailable(t *testing.T) {
	for _, m := range []string{"cram-md5", "external"} {
		_, err := runBackend(t, Options{ProxySMTPAuth: true}, mkLogin(m, "u", "", "", false),
			"B: 220 be\r\n", "S: HELO mx.example.com\r\n", "B: 250 be\r\n")
		var be *session.BackendError
		if !errors.As(err, &be) || be.Text != "no password available" || be.Reply != nil {
			t.Fatalf("%s: %#v", m, err)
		}
	}
	// A plain login with an empty password does have one.
	relay, err := runBackend(t, Options{ProxySMTPAuth: true}, mkLogin("plain", "u", "", "", false),
		"B: 220 be\r\n", "S: HELO mx.example.com\r\n", "B: 250 be\r\n", "S: AUTH PLAIN AHUA\r\n", "B: 235 ok\r\n")
	if err != nil || string(relay) != "235 2.0.0 OK\r\n" {
		t.Fatalf("%q %v", relay, err)
	}
}

// TestUnsafeValuesNeverSent: CR, LF or NUL in a value never reaches the
// backend, whatever produced the Login.
func TestUnsafeValuesNeverSent(t *testing.T) {
	for _, l := range []*testLogin{
		mkLogin("plain", "u", "p", "h\r\nRSET", false),
		{&session.Login{}, Envelope{Method: "none", MailFrom: "MAIL FROM:<a>\r\nRCPT TO:<x>", RcptTo: "RCPT TO:<b>", Client: client("127.0.0.1:1")}},
		{&session.Login{}, Envelope{Method: "none", MailFrom: "MAIL FROM:<a>", RcptTo: "RCPT TO:<b>\x00", Client: client("127.0.0.1:1")}},
		{&session.Login{}, Envelope{Method: "plain", ClientHost: "x\nNAME=y", Client: client("127.0.0.1:1")}},
	} {
		script := []string{"B: 220 be\r\n", "S: EHLO mx.example.com\r\n", "B: 250 be\r\n"}
		if strings.HasPrefix(l.ClientHost, "[") {
			script = append(script, "S: XCLIENT ADDR=192.0.2.10 LOGIN=u NAME=[UNAVAILABLE]\r\n", "B: 220 ok\r\n")
		} else if l.Method == "none" {
			script = append(script, "S: XCLIENT ADDR=127.0.0.1 NAME=[UNAVAILABLE]\r\n", "B: 220 ok\r\n")
			if !strings.Contains(l.MailFrom, "\r") {
				script = append(script, "S: MAIL FROM:<a>\r\n", "B: 250 ok\r\n")
			}
		}
		_, err := runBackend(t, Options{XClient: true}, l, script...)
		var be *session.BackendError
		if !errors.As(err, &be) || !errors.Is(err, errUnsafe) || be.Reply != nil {
			t.Fatalf("%+v: %#v", l, err)
		}
	}
}

// TestLoginBackendTransport: a silent backend runs into the deadline, a
// closing one fails, an overlong reply fails; none carries a Reply.
func TestLoginBackendTransport(t *testing.T) {
	l := mkLogin("plain", "u", "p", "", false)
	px, _ := sessiontest.TCPPair(t)
	start := time.Now()
	_, err := NewServer(Options{ServerName: "mx"}).Handover(l.Envelope).LoginBackend(px, l.Login, 4096, time.Now().Add(300*time.Millisecond))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) > 2*time.Second {
		t.Fatalf("silent backend: %v", err)
	}

	px, be := sessiontest.TCPPair(t)
	go func() { io.WriteString(be, "220 be\r\n"); be.Close() }()
	_, err = NewServer(Options{ServerName: "mx"}).Handover(l.Envelope).LoginBackend(px, l.Login, 4096, time.Now().Add(2*time.Second))
	var bee *session.BackendError
	if !errors.As(err, &bee) || bee.Reply != nil {
		t.Fatalf("closing backend: %#v", err)
	}

	px2, be2 := sessiontest.TCPPair(t)
	go func() { io.WriteString(be2, "220-"+strings.Repeat("x", 100)+"\r\n220-more\r\n") }()
	_, err = NewServer(Options{ServerName: "mx"}).Handover(l.Envelope).LoginBackend(px2, l.Login, 64, time.Now().Add(2*time.Second))
	if !errors.As(err, &bee) || bee.Reply != nil {
		t.Fatalf("overlong reply: %#v", err)
	}
}
