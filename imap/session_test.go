package imap

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"mailproxy/authhttp"
	"mailproxy/config"
	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

// The shared harness, under the names these tests use.
var tcpPair = func(t *testing.T) (net.Conn, net.Conn) { return sessiontest.TCPPair(t) }

type fakeAuth = sessiontest.FakeAuth

type result struct {
	login *session.Login
	err   error
}

// serve runs Serve on the server end and returns the client end.
func serve(t *testing.T, o Options, auth *fakeAuth) (net.Conn, *bufio.Reader, chan result) {
	t.Helper()
	if o.MaxErrors == 0 {
		o.MaxErrors = 5
	}
	if o.Capabilities == nil {
		o.Capabilities = []string{"IMAP4", "IMAP4rev1", "UIDPLUS"}
	}
	if o.Auth == nil {
		o.Auth = []string{"plain"}
	}
	if o.ServerName == "" {
		o.ServerName = "mx.example.com"
	}
	cl, sv := tcpPair(t)
	sc := &session.Conn{Conn: sv, Timeout: 5 * time.Second, Log: slog.New(slog.DiscardHandler), Authenticate: auth.Do}
	done := make(chan result, 1)
	go func() {
		l, err := NewServer(o).Serve(context.Background(), sc)
		done <- result{l, err}
	}()
	return cl, bufio.NewReader(cl), done
}

// dialogue plays "C: " lines (sent) and "S: " lines (expected exactly).
func dialogue(t *testing.T, c net.Conn, r *bufio.Reader, lines ...string) {
	t.Helper()
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "C: "):
			io.WriteString(c, l[3:])
		case strings.HasPrefix(l, "S: "):
			want := l[3:]
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, len(want))
			if _, err := io.ReadFull(r, buf); err != nil || string(buf) != want {
				t.Fatalf("expected %q, got %q (%v)", want, buf, err)
			}
		}
	}
}

var ok = sessiontest.OK

// TestAppendixA1 is SPEC Appendix A.1: CAPABILITY, LOGIN with a literal
// and a quoted string with an escape.
func TestAppendixA1(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:143")}}
	c, r, done := serve(t, Options{}, auth)
	dialogue(t, c, r,
		"S: * OK IMAP4 ready\r\n",
		"C: a1 CAPABILITY\r\n",
		"S: * CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTH=PLAIN\r\n",
		"S: a1 OK completed\r\n",
		"C: a2 LOGIN {5}\r\n",
		"S: + OK\r\n",
		"C: alice \"s3c\\\"ret\"\r\nb NOOP\r\n",
	)
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.login.Tag != "a2" || res.login.User != "alice" || res.login.Pass != `s3c"ret` || string(res.login.Pipelined) != "b NOOP\r\n" {
		t.Fatalf("login = %+v", res.login)
	}
	q := auth.Requests()[0]
	if q.Method != "plain" || q.User != "alice" || q.Pass != `s3c"ret` || q.Protocol != "imap" || q.LoginAttempt != 1 {
		t.Fatalf("request = %+v", q)
	}
}

// TestAppendixA2 is SPEC Appendix A.2: a failure with Auth-Wait keeps the
// session after a silent delay; the retry counts as attempt 2.
func TestAppendixA2(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{
		{Status: authhttp.StatusFail, Text: "Invalid credentials", Wait: 500 * time.Millisecond},
		ok("127.0.0.1:143"),
	}}
	c, r, done := serve(t, Options{}, auth)
	dialogue(t, c, r, "S: * OK IMAP4 ready\r\n", "C: a1 LOGIN alice wrong\r\n")
	start := time.Now()
	dialogue(t, c, r, "S: a1 NO Invalid credentials\r\n")
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("failure reply after %v, before Auth-Wait", d)
	}
	dialogue(t, c, r, "C: a2 AUTHENTICATE PLAIN\r\n", "S: + \r\n", "C: AGFsaWNlAHMzY3JldA==\r\n")
	res := <-done
	if res.err != nil || res.login.Tag != "a2" || res.login.Pass != "s3cret" {
		t.Fatalf("%+v %v", res.login, res.err)
	}
	if auth.Requests()[1].LoginAttempt != 2 || auth.Requests()[1].Method != "plain" {
		t.Fatalf("second request %+v", auth.Requests()[1])
	}
}

// TestAppendixA3 is SPEC Appendix A.3: error replies and LOGOUT.
func TestAppendixA3(t *testing.T) {
	c, r, done := serve(t, Options{}, &fakeAuth{})
	dialogue(t, c, r,
		"S: * OK IMAP4 ready\r\n",
		"C: a1 FOO\r\n", "S: a1 BAD invalid command\r\n",
		"C: a2 LOGIN onlyone\r\n", "S: a2 BAD invalid command\r\n",
		"C: !bad NOOP\r\n", "S: * BAD invalid command\r\n",
		"C: a3 LOGOUT\r\n", "S: * BYE\r\n", "S: a3 OK completed\r\n",
	)
	if res := <-done; !errors.Is(res.err, session.ErrClosed) {
		t.Fatalf("err = %v", res.err)
	}
}

func TestCapabilityVariants(t *testing.T) {
	all := []string{"plain", "login", "cram-md5", "external"}
	cases := []struct {
		o    Options
		want string
	}{
		{Options{}, "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTH=PLAIN\r\n"},
		{Options{Auth: all}, "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5 AUTH=EXTERNAL\r\n"},
		{Options{Auth: []string{"external", "plain"}, StartTLS: config.StartTLSOn}, "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTH=PLAIN AUTH=EXTERNAL STARTTLS\r\n"},
		{Options{StartTLS: config.StartTLSOnly}, "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS STARTTLS LOGINDISABLED\r\n"},
		{Options{Capabilities: []string{"IMAP4rev1", "ID", "SASL-IR"}}, "* CAPABILITY IMAP4rev1 ID SASL-IR AUTH=PLAIN\r\n"},
	}
	for _, tc := range cases {
		c, r, _ := serve(t, tc.o, &fakeAuth{})
		dialogue(t, c, r, "S: * OK IMAP4 ready\r\n", "C: t CAPABILITY\r\n", "S: "+tc.want, "S: t OK completed\r\n")
	}
}

// TestStartTLSOnlyRefusesCredentials: LOGIN and AUTHENTICATE are refused
// before TLS and not counted as errors.
func TestStartTLSOnlyRefusesCredentials(t *testing.T) {
	auth := &fakeAuth{}
	c, r, _ := serve(t, Options{StartTLS: config.StartTLSOnly, MaxErrors: 1}, auth)
	dialogue(t, c, r, "S: * OK IMAP4 ready\r\n",
		"C: a LOGIN u p\r\n", "S: a BAD invalid command\r\n",
		"C: b AUTHENTICATE PLAIN AHUAcA==\r\n", "S: b BAD invalid command\r\n",
		"C: c NOOP\r\n", "S: c OK completed\r\n")
	if len(auth.Requests()) != 0 {
		t.Fatal("credentials reached the auth service before TLS")
	}
}

// TestSASLMechanisms covers the exchanges of SPEC §7.
func TestSASLMechanisms(t *testing.T) {
	all := Options{Auth: []string{"plain", "login", "cram-md5", "external"}}
	cases := []struct {
		name  string
		lines []string
		user  string
		pass  string
		meth  string
	}{
		{"plain-ir", []string{"C: a AUTHENTICATE PLAIN AHUAcA==\r\n"}, "u", "p", "plain"},
		{"plain-lower", []string{"C: a authenticate plain\r\n", "S: + \r\n", "C: AHUAcA==\r\n"}, "u", "p", "plain"},
		{"login", []string{"C: a AUTHENTICATE LOGIN\r\n", "S: + VXNlcm5hbWU6\r\n", "C: dQ==\r\n", "S: + UGFzc3dvcmQ6\r\n", "C: cA==\r\n"}, "u", "p", "plain"},
		{"login-ir", []string{"C: a AUTHENTICATE LOGIN dQ==\r\n", "S: + UGFzc3dvcmQ6\r\n", "C: =\r\n"}, "u", "", "plain"},
		{"external", []string{"C: a AUTHENTICATE EXTERNAL\r\n", "S: + VXNlcm5hbWU6\r\n", "C: ZXh0\r\n"}, "ext", "", "external"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:143")}}
			c, r, done := serve(t, all, auth)
			dialogue(t, c, r, append([]string{"S: * OK IMAP4 ready\r\n"}, tc.lines...)...)
			res := <-done
			if res.err != nil {
				t.Fatal(res.err)
			}
			q := auth.Requests()[0]
			if q.User != tc.user || q.Pass != tc.pass || q.Method != tc.meth {
				t.Fatalf("request %+v", q)
			}
		})
	}
}

// TestStartTLSDiscardsPipelined: plaintext pipelined after STARTTLS is
// never executed (SPEC §8.2).
func TestStartTLSDiscardsPipelined(t *testing.T) {
	auth := &fakeAuth{}
	cl, sv := tcpPair(t)
	upgraded := make(chan struct{})
	sc := &session.Conn{Conn: sv, Timeout: 5 * time.Second, Log: slog.New(slog.DiscardHandler), Authenticate: auth.Do,
		StartTLS: func(time.Time) error { close(upgraded); return errors.New("handshake refused in test") }}
	done := make(chan error, 1)
	go func() {
		_, err := NewServer(Options{StartTLS: config.StartTLSOn, MaxErrors: 5}).Serve(context.Background(), sc)
		done <- err
	}()
	r := bufio.NewReader(cl)
	dialogue(t, cl, r, "S: * OK IMAP4 ready\r\n", "C: a STARTTLS\r\nb LOGIN u p\r\n", "S: a OK completed\r\n")
	<-upgraded
	<-done
	if len(auth.Requests()) != 0 {
		t.Fatal("a command pipelined after STARTTLS was executed")
	}
	cl.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if b, err := r.ReadByte(); err == nil {
		t.Fatalf("unexpected byte %q after STARTTLS OK", b)
	}
}

// TestAfterAuthWaitBadTagIsUntagged: nginx answers a malformed tag after
// a delayed failure with bytes of the new line in place of the tag (SPEC
// §4.2, flagged a bug); mailproxy answers "* BAD".
func TestAfterAuthWaitBadTagIsUntagged(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{{Status: authhttp.StatusFail, Text: "No", Wait: 100 * time.Millisecond}}}
	c, r, _ := serve(t, Options{}, auth)
	dialogue(t, c, r, "S: * OK IMAP4 ready\r\n", "C: abcdefgh LOGIN u p\r\n", "S: abcdefgh NO No\r\n",
		"C: !x NOOP\r\n", "S: * BAD invalid command\r\n")
}

// TestExternalSendsNoStalePassword: nginx sends the password of an earlier
// failed attempt with EXTERNAL (SPEC §7, flagged a bug); mailproxy sends
// an empty Auth-Pass.
func TestExternalSendsNoStalePassword(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{
		{Status: authhttp.StatusFail, Text: "No", Wait: 50 * time.Millisecond},
		{Status: authhttp.StatusFail, Text: "No"},
	}}
	c, r, _ := serve(t, Options{Auth: []string{"plain", "external"}}, auth)
	dialogue(t, c, r, "S: * OK IMAP4 ready\r\n", "C: a LOGIN u secret\r\n", "S: a NO No\r\n",
		"C: b AUTHENTICATE EXTERNAL dQ==\r\n", "S: b NO No\r\n")
	if q := auth.Requests()[1]; q.Method != "external" || q.Pass != "" {
		t.Fatalf("second request %+v", q)
	}
}
