package imap

import (
	"errors"
	"testing"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

type fakeAuth = sessiontest.FakeAuth

// serve runs a Server with o (defaults filled in) under the shared
// harness.
func serve(t *testing.T, o Options, auth *fakeAuth, tune ...func(*session.Conn)) *sessiontest.Harness {
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
	return sessiontest.Serve(t, NewServer(o).Serve, auth, tune...)
}

var ok = sessiontest.OK

// TestAppendixA1 is SPEC Appendix A.1: CAPABILITY, LOGIN with a literal
// and a quoted string with an escape.
func TestAppendixA1(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:143")}}
	h := serve(t, Options{}, auth)
	h.Play(
		"S: * OK IMAP4 ready\r\n",
		"C: a1 CAPABILITY\r\n",
		"S: * CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTH=PLAIN\r\n",
		"S: a1 OK completed\r\n",
		"C: a2 LOGIN {5}\r\n",
		"S: + OK\r\n",
		"C: alice \"s3c\\\"ret\"\r\nb NOOP\r\n",
	)
	res := h.Result()
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Login.Handover != Handover("a2") || res.Login.User != "alice" || res.Login.Pass != `s3c"ret` || string(res.Login.Pipelined) != "b NOOP\r\n" {
		t.Fatalf("login = %+v", res.Login)
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
	h := serve(t, Options{}, auth)
	h.Play("S: * OK IMAP4 ready\r\n", "C: a1 LOGIN alice wrong\r\n")
	start := time.Now()
	h.Play("S: a1 NO Invalid credentials\r\n")
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("failure reply after %v, before Auth-Wait", d)
	}
	h.Play("C: a2 AUTHENTICATE PLAIN\r\n", "S: + \r\n", "C: AGFsaWNlAHMzY3JldA==\r\n")
	res := h.Result()
	if res.Err != nil || res.Login.Handover != Handover("a2") || res.Login.Pass != "s3cret" {
		t.Fatalf("%+v %v", res.Login, res.Err)
	}
	if auth.Requests()[1].LoginAttempt != 2 || auth.Requests()[1].Method != "plain" {
		t.Fatalf("second request %+v", auth.Requests()[1])
	}
}

// TestAppendixA3 is SPEC Appendix A.3: error replies and LOGOUT.
func TestAppendixA3(t *testing.T) {
	h := serve(t, Options{}, &fakeAuth{})
	h.Play(
		"S: * OK IMAP4 ready\r\n",
		"C: a1 FOO\r\n", "S: a1 BAD invalid command\r\n",
		"C: a2 LOGIN onlyone\r\n", "S: a2 BAD invalid command\r\n",
		"C: !bad NOOP\r\n", "S: * BAD invalid command\r\n",
		"C: a3 LOGOUT\r\n", "S: * BYE\r\n", "S: a3 OK completed\r\n",
	)
	if res := h.Result(); !errors.Is(res.Err, session.ErrClosed) {
		t.Fatalf("err = %v", res.Err)
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
		{Options{Auth: []string{"external", "plain"}, StartTLS: session.StartTLSOn}, "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTH=PLAIN AUTH=EXTERNAL STARTTLS\r\n"},
		{Options{StartTLS: session.StartTLSOnly}, "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS STARTTLS LOGINDISABLED\r\n"},
		{Options{Capabilities: []string{"IMAP4rev1", "ID", "SASL-IR"}}, "* CAPABILITY IMAP4rev1 ID SASL-IR AUTH=PLAIN\r\n"},
	}
	for _, tc := range cases {
		h := serve(t, tc.o, &fakeAuth{})
		h.Play("S: * OK IMAP4 ready\r\n", "C: t CAPABILITY\r\n", "S: "+tc.want, "S: t OK completed\r\n")
	}
}

// TestStartTLSOnlyRefusesCredentials: LOGIN and AUTHENTICATE are refused
// before TLS and not counted as errors.
func TestStartTLSOnlyRefusesCredentials(t *testing.T) {
	auth := &fakeAuth{}
	h := serve(t, Options{StartTLS: session.StartTLSOnly, MaxErrors: 1}, auth)
	h.Play("S: * OK IMAP4 ready\r\n",
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
			h := serve(t, all, auth)
			h.Play(append([]string{"S: * OK IMAP4 ready\r\n"}, tc.lines...)...)
			res := h.Result()
			if res.Err != nil {
				t.Fatal(res.Err)
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
	upgraded := make(chan struct{})
	h := serve(t, Options{StartTLS: session.StartTLSOn}, auth, func(sc *session.Conn) {
		sc.StartTLS = func(time.Time) error { close(upgraded); return errors.New("handshake refused in test") }
	})
	h.Play("S: * OK IMAP4 ready\r\n", "C: a STARTTLS\r\nb LOGIN u p\r\n", "S: a OK completed\r\n")
	<-upgraded
	h.Ended(nil)
	if len(auth.Requests()) != 0 {
		t.Fatal("a command pipelined after STARTTLS was executed")
	}
	h.Closed()
}

// TestAfterAuthWaitBadTagIsUntagged: nginx answers a malformed tag after
// a delayed failure with bytes of the new line in place of the tag (SPEC
// §4.2, flagged a bug); mailproxy answers "* BAD".
func TestAfterAuthWaitBadTagIsUntagged(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{{Status: authhttp.StatusFail, Text: "No", Wait: 100 * time.Millisecond}}}
	h := serve(t, Options{}, auth)
	h.Play("S: * OK IMAP4 ready\r\n", "C: abcdefgh LOGIN u p\r\n", "S: abcdefgh NO No\r\n",
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
	h := serve(t, Options{Auth: []string{"plain", "external"}}, auth)
	h.Play("S: * OK IMAP4 ready\r\n", "C: a LOGIN u secret\r\n", "S: a NO No\r\n",
		"C: b AUTHENTICATE EXTERNAL dQ==\r\n", "S: b NO No\r\n")
	if q := auth.Requests()[1]; q.Method != "external" || q.Pass != "" {
		t.Fatalf("second request %+v", q)
	}
}
