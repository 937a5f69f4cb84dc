package sieve

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

const backendAddr = "127.0.0.1:4190"

// checkLogin asserts the login Serve returned for an accepted
// AUTHENTICATE.
func checkLogin(t *testing.T, l *session.Login, user, pass, pipelined string) {
	t.Helper()
	if l.User != user || l.Pass != pass {
		t.Errorf("login user/pass = %q/%q, want %q/%q", l.User, l.Pass, user, pass)
	}
	if l.Backend != netip.MustParseAddrPort(backendAddr) || l.Upstream != backendAddr {
		t.Errorf("login backend = %v %q, want %s", l.Backend, l.Upstream, backendAddr)
	}
	if string(l.Pipelined) != pipelined {
		t.Errorf("pipelined = %q, want %q", l.Pipelined, pipelined)
	}
	if l.Handover == nil || l.Handover != Handover() {
		t.Errorf("handover = %#v, want Handover()", l.Handover)
	}
}

// checkRequest asserts one auth request.
func checkRequest(t *testing.T, q authhttp.Request, method, user, pass string, attempt int) {
	t.Helper()
	if q.Protocol != "sieve" || q.Method != method || q.User != user || q.Pass != pass || q.LoginAttempt != attempt || q.Salt != "" {
		t.Errorf("auth request = %+v, want protocol sieve, method %s, user %q, pass %q, attempt %d", q, method, user, pass, attempt)
	}
}

// TestGreeting: the greeting is the capability listing for the
// connection's state and options, then OK (RFC 5804 §1.7); LOGOUT ends
// the session.
func TestGreeting(t *testing.T) {
	cases := []struct {
		name string
		o    Options
		tune []func(*session.Conn)
		want string
	}{
		{"literal", Options{}, nil, greeting},
		{"off", Options{StartTLS: session.StartTLSOff}, nil, caps("PLAIN", defaultExt, false)},
		{"on", Options{StartTLS: session.StartTLSOn}, nil, caps("PLAIN", defaultExt, true)},
		{"only", Options{StartTLS: session.StartTLSOnly}, nil, caps("", defaultExt, true)},
		{"only-all-mechanisms", Options{StartTLS: session.StartTLSOnly, Auth: []string{"plain", "login", "external"}}, nil, caps("", defaultExt, true)},
		{"on-tls", Options{StartTLS: session.StartTLSOn}, []func(*session.Conn){onTLS}, caps("PLAIN", defaultExt, false)},
		{"only-tls", Options{StartTLS: session.StartTLSOnly}, []func(*session.Conn){onTLS}, caps("PLAIN", defaultExt, false)},
		{"off-tls", Options{}, []func(*session.Conn){onTLS}, caps("PLAIN", defaultExt, false)},
		{"login", Options{Auth: []string{"plain", "login"}}, nil, caps("PLAIN LOGIN", defaultExt, false)},
		{"external", Options{Auth: []string{"plain", "external"}}, nil, caps("PLAIN EXTERNAL", defaultExt, false)},
		{"all-on", Options{Auth: []string{"plain", "login", "external"}, StartTLS: session.StartTLSOn}, nil, caps("PLAIN LOGIN EXTERNAL", defaultExt, true)},
		{"order-fixed", Options{Auth: []string{"external", "login", "plain"}}, nil, caps("PLAIN LOGIN EXTERNAL", defaultExt, false)},
		{"custom-sieve", Options{Capabilities: []string{"fileinto", "vacation", "comparator-i;octet"}}, nil, caps("PLAIN", "fileinto vacation comparator-i;octet", false)},
		{"custom-sieve-one", Options{Capabilities: []string{"fileinto"}, StartTLS: session.StartTLSOn}, nil, caps("PLAIN", "fileinto", true)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{}
			h := serve(t, tc.o, auth, tc.tune...)
			want := tc.want
			if !strings.HasSuffix(want, ready) {
				want += ready
			}
			h.Play("S: "+want, "C: LOGOUT\r\n", "S: "+rLogout)
			h.CloseWith(session.ErrClosed)
			if n := len(auth.Requests()); n != 0 {
				t.Fatalf("%d auth requests", n)
			}
		})
	}
}

// TestCapability: CAPABILITY re-sends the listing then OK; an argument
// is a syntax error, counted.
func TestCapability(t *testing.T) {
	okCap := "OK \"Capability completed.\"\r\n"
	h := serve(t, Options{MaxErrors: 2, StartTLS: session.StartTLSOn, Auth: []string{"plain", "login"}}, &fakeAuth{})
	listing := caps("PLAIN LOGIN", defaultExt, true)
	h.Play(
		"S: "+listing+ready,
		"C: CAPABILITY\r\n", "S: "+listing+okCap,
		"C: capability\n", "S: "+listing+okCap,
		"C: CAPABILITY \"x\"\r\n", "S: "+rSyntax,
		"C: Capability  \r\n", "S: "+listing+okCap,
		"C: CAPABILITY x\r\nNOOP\r\n", "S: "+rSyntax, // the second error ends the session
	)
	h.CloseWith(session.ErrClosed)
}

// TestNoop: NOOP, and NOOP with a tag echoed in a TAG response code (RFC
// 5804 §2.11), the tag quoted or sent as a literal.
func TestNoop(t *testing.T) {
	h := serve(t, Options{}, &fakeAuth{})
	h.Play(
		"S: "+greeting,
		"C: NOOP\r\n", "S: "+rNoop,
		"C: noop\n", "S: "+rNoop,
		"C: NOOP \"STARTTLS-SYNC-42\"\r\n", "S: OK (TAG \"STARTTLS-SYNC-42\") \"Done\"\r\n",
		"C: NOOP {3+}\r\nabc\r\n", "S: OK (TAG \"abc\") \"Done\"\r\n",
		"C: NOOP {3}\r\nabc\r\n", "S: OK (TAG \"abc\") \"Done\"\r\n",
		"C: NOOP {0+}\r\n\r\n", "S: OK (TAG \"\") \"Done\"\r\n",
		`C: NOOP "a\"b\\c"`+"\r\n", `S: OK (TAG "a\"b\\c") "Done"`+"\r\n",
		"C: NOOP {4+}\r\na\r\nb\r\n", "S: OK (TAG {4}\r\na\r\nb) \"Done\"\r\n",
		"C: NOOP tag1\r\n", "S: OK (TAG \"tag1\") \"Done\"\r\n",
		"C: NOOP \"a\" \"b\"\r\n", "S: "+rSyntax,
		"C: NOOP\r\nNOOP \"x\"\r\n", "S: "+rNoop+"OK (TAG \"x\") \"Done\"\r\n",
		"C: LOGOUT\r\n", "S: "+rLogout,
	)
	h.CloseWith(session.ErrClosed)
}

// TestLogout: LOGOUT answers OK and ends the session with ErrClosed;
// pipelined commands after it never run.
func TestLogout(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{ok(backendAddr)}}
	h := serve(t, Options{}, auth)
	h.Play("S: "+greeting, "C: logout\r\nNOOP\r\nAUTHENTICATE \"PLAIN\" \""+irAlice+"\"\r\n", "S: "+rLogout)
	h.CloseWith(session.ErrClosed)
	if n := len(auth.Requests()); n != 0 {
		t.Fatalf("%d auth requests after LOGOUT", n)
	}
}

// TestStartTLS: STARTTLS answers OK, discards the plaintext pipelined
// after it, hands the running pre-auth deadline to the handshake, then
// re-sends the listing (without STARTTLS) and OK over TLS (RFC 5804
// §2.2); afterwards STARTTLS is refused and AUTHENTICATE works.
func TestStartTLS(t *testing.T) {
	deadlines := make(chan time.Time, 1)
	auth := &fakeAuth{Answers: []*authhttp.Response{ok(backendAddr)}}
	start := time.Now()
	h := serve(t, Options{StartTLS: session.StartTLSOn, Auth: []string{"plain", "login"}}, auth, sessiontest.WithTLS(t, deadlines))
	before := caps("PLAIN LOGIN", defaultExt, true)
	after := caps("PLAIN LOGIN", defaultExt, false)
	h.Play("S: "+before+ready, "C: CAPABILITY\r\n", "S: "+before+"OK \"Capability completed.\"\r\n")
	time.Sleep(200 * time.Millisecond) // STARTTLS does not re-arm the deadline
	h.Play(
		"C: STARTTLS\r\nAUTHENTICATE \"PLAIN\" \""+irAlice+"\"\r\nNOOP\r\n",
		"S: OK \"Begin TLS negotiation now.\"\r\n",
	)
	select {
	case d := <-deadlines:
		if off := d.Sub(start); off < 4900*time.Millisecond || off > 5300*time.Millisecond {
			t.Fatalf("handshake deadline %v after the start, want the pre-auth deadline (5s)", off)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("StartTLS was not called")
	}
	h.ClientTLS()
	h.Play(
		"S: "+after+"OK \"TLS negotiation successful.\"\r\n",
		// Had the plaintext NOOP run, its reply would come first.
		"C: NOOP \"over-tls\"\r\n", "S: OK (TAG \"over-tls\") \"Done\"\r\n",
		"C: CAPABILITY\r\n", "S: "+after+"OK \"Capability completed.\"\r\n",
		"C: STARTTLS\r\n", "S: "+rNoSTLS,
		"C: AUTHENTICATE \"PLAIN\" \""+irBob+"\"\r\n",
	)
	l := h.Login()
	checkLogin(t, l, "bob", "password12345", "")
	reqs := auth.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d auth requests, want 1 (the plaintext AUTHENTICATE must not run)", len(reqs))
	}
	checkRequest(t, reqs[0], "plain", "bob", "password12345", 1)
}

// TestStartTLSOnly: under starttls only, AUTHENTICATE is refused (not
// counted, no exchange started) until TLS; the listing over TLS offers
// the mechanisms.
func TestStartTLSOnly(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{ok(backendAddr)}}
	h := serve(t, Options{StartTLS: session.StartTLSOnly, MaxErrors: 1, Auth: []string{"plain", "external"}}, auth, sessiontest.WithTLS(t, make(chan time.Time, 1)))
	h.Play(
		"S: "+caps("", defaultExt, true)+ready,
		"C: AUTHENTICATE \"PLAIN\" \""+irAlice+"\"\r\n", "S: "+rPlaintext,
		"C: AUTHENTICATE \"PLAIN\"\r\n", "S: "+rPlaintext,
		"C: AUTHENTICATE \"EXTERNAL\" \"YWxpY2U=\"\r\n", "S: "+rPlaintext,
		"C: NOOP\r\n", "S: "+rNoop, // a NOOP, not a SASL response
		"C: StartTLS\r\n", "S: OK \"Begin TLS negotiation now.\"\r\n",
	)
	h.ClientTLS()
	h.Play(
		"S: "+caps("PLAIN EXTERNAL", defaultExt, false)+"OK \"TLS negotiation successful.\"\r\n",
		"C: AUTHENTICATE \"PLAIN\" \""+irAlice+"\"\r\n",
	)
	checkLogin(t, h.Login(), "alice", "s3cret", "")
	checkRequest(t, auth.Requests()[0], "plain", "alice", "s3cret", 1)
}

// TestStartTLSRefused: STARTTLS when it is off, or on an already TLS
// connection, is NO (not counted); starttls only does not apply to a TLS
// connection.
func TestStartTLSRefused(t *testing.T) {
	t.Run("off", func(t *testing.T) {
		h := serve(t, Options{MaxErrors: 1}, &fakeAuth{})
		h.Play("S: "+greeting, "C: STARTTLS\r\n", "S: "+rNoSTLS, "C: STARTTLS\r\n", "S: "+rNoSTLS, "C: NOOP\r\n", "S: "+rNoop)
		h.C.Close()
		h.Ended(nil)
	})
	t.Run("on-tls", func(t *testing.T) {
		h := serve(t, Options{MaxErrors: 1, StartTLS: session.StartTLSOn}, &fakeAuth{}, onTLS)
		h.Play("S: "+caps("PLAIN", defaultExt, false)+ready, "C: STARTTLS\r\n", "S: "+rNoSTLS, "C: STARTTLS\r\n", "S: "+rNoSTLS, "C: NOOP\r\n", "S: "+rNoop)
		h.C.Close()
		h.Ended(nil)
	})
	t.Run("only-tls", func(t *testing.T) {
		auth := &fakeAuth{Answers: []*authhttp.Response{ok(backendAddr)}}
		h := serve(t, Options{StartTLS: session.StartTLSOnly}, auth, onTLS)
		h.Play("S: "+caps("PLAIN", defaultExt, false)+ready, "C: STARTTLS\r\n", "S: "+rNoSTLS, "C: AUTHENTICATE \"PLAIN\" \""+irAlice+"\"\r\n")
		checkLogin(t, h.Login(), "alice", "s3cret", "")
	})
}

// TestStartTLSHandshakeFailure: a failed handshake ends the session with
// its error.
func TestStartTLSHandshakeFailure(t *testing.T) {
	h := serve(t, Options{StartTLS: session.StartTLSOn}, &fakeAuth{}) // the harness's StartTLS fails
	h.Play("S: "+caps("PLAIN", defaultExt, true)+ready, "C: STARTTLS\r\n", "S: OK \"Begin TLS negotiation now.\"\r\n")
	if err := h.Ended(nil); !strings.Contains(err.Error(), "no TLS in this test") || errors.Is(err, session.ErrClosed) {
		t.Fatalf("err = %v", err)
	}
	h.Closed()
}

// TestAuthenticatePlain: every form of AUTHENTICATE "PLAIN" a client may
// send: the initial response as a quoted string or a literal ({n+} as
// sieve-connect sends it, or {n}), or the continuation (an empty
// challenge) answered with a string or a literal.
func TestAuthenticatePlain(t *testing.T) {
	cases := []struct {
		name       string
		script     []string
		user, pass string
	}{
		{"quoted", []string{"C: AUTHENTICATE \"PLAIN\" \"" + irAlice + "\"\r\n"}, "alice", "s3cret"},
		{"sieve-connect", []string{"C: AUTHENTICATE \"PLAIN\" {24+}\r\n" + irBob + "\r\n"}, "bob", "password12345"},
		{"literal-plus-split", []string{"C: AUTHENTICATE \"PLAIN\" {24+}\r\n", "C: " + irBob[:10], "C: " + irBob[10:] + "\r", "C: \n"}, "bob", "password12345"},
		{"literal-sync", []string{"C: AUTHENTICATE \"PLAIN\" {24}\r\n" + irBob + "\r\n"}, "bob", "password12345"},
		{"literal-lf", []string{"C: AUTHENTICATE \"PLAIN\" {24+}\n" + irBob + "\n"}, "bob", "password12345"},
		{"lower-case", []string{"C: authenticate \"plain\" \"" + irAlice + "\"\r\n"}, "alice", "s3cret"},
		{"unpadded", []string{"C: AUTHENTICATE \"PLAIN\" \"AGFsaWNlAHMzY3JldA\"\r\n"}, "alice", "s3cret"},
		{"authzid-dropped", []string{"C: AUTHENTICATE \"PLAIN\" \"YWRtaW4AYm9iAHB3\"\r\n"}, "bob", "pw"},
		{"special-chars", []string{"C: AUTHENTICATE \"PLAIN\" \"AGJvYkBleGFtcGxlLmNvbQBwIndcIGQ=\"\r\n"}, "bob@example.com", `p"w\ d`},
		{"continuation-quoted", []string{"C: AUTHENTICATE \"PLAIN\"\r\n", "S: \"\"\r\n", "C: \"" + irAlice + "\"\r\n"}, "alice", "s3cret"},
		{"continuation-literal-plus", []string{"C: AUTHENTICATE \"PLAIN\"\r\n", "S: \"\"\r\n", "C: {20+}\r\n" + irAlice + "\r\n"}, "alice", "s3cret"},
		{"continuation-literal-sync", []string{"C: AUTHENTICATE \"PLAIN\"\r\n", "S: \"\"\r\n", "C: {24}\r\n" + irBob + "\r\n"}, "bob", "password12345"},
		{"mechanism-literal", []string{"C: AUTHENTICATE {5+}\r\nPLAIN \"" + irAlice + "\"\r\n"}, "alice", "s3cret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{Answers: []*authhttp.Response{ok(backendAddr)}}
			h := serve(t, Options{}, auth)
			h.Play("S: " + greeting)
			for _, s := range tc.script {
				h.Play(s)
				if strings.HasPrefix(s, "C: ") {
					time.Sleep(20 * time.Millisecond) // separate reads
				}
			}
			checkLogin(t, h.Login(), tc.user, tc.pass, "")
			reqs := auth.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d auth requests", len(reqs))
			}
			checkRequest(t, reqs[0], "plain", tc.user, tc.pass, 1)
		})
	}
}

// TestAuthenticatePipelined: client bytes after the AUTHENTICATE line
// (or after the SASL response) are kept for the backend.
func TestAuthenticatePipelined(t *testing.T) {
	cases := []struct {
		name   string
		script []string
		piped  string
	}{
		{"quoted", []string{"C: AUTHENTICATE \"PLAIN\" \"" + irAlice + "\"\r\nLISTSCRIPTS\r\nGETSCRIPT \"x\"\r\n"}, "LISTSCRIPTS\r\nGETSCRIPT \"x\"\r\n"},
		{"literal", []string{"C: AUTHENTICATE \"PLAIN\" {20+}\r\n" + irAlice + "\r\nPUTSCRIPT \"s\" {6+}\r\nkeep;\n\r\n"}, "PUTSCRIPT \"s\" {6+}\r\nkeep;\n\r\n"},
		{"continuation", []string{"C: AUTHENTICATE \"PLAIN\"\r\n", "S: \"\"\r\n", "C: \"" + irAlice + "\"\r\nLISTSCRIPTS\r\n"}, "LISTSCRIPTS\r\n"},
		{"partial", []string{"C: AUTHENTICATE \"PLAIN\" \"" + irAlice + "\"\r\nLISTSC"}, "LISTSC"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{Answers: []*authhttp.Response{ok(backendAddr)}}
			h := serve(t, Options{}, auth)
			h.Play("S: " + greeting)
			h.Play(tc.script...)
			checkLogin(t, h.Login(), "alice", "s3cret", tc.piped)
		})
	}
}

// TestAuthOverrides: Auth-User and Auth-Pass replace the login's user
// and password; the request had the client's.
func TestAuthOverrides(t *testing.T) {
	resp := ok(backendAddr)
	resp.User, resp.HasUser = "alice@example.com", true
	resp.Pass, resp.HasPass = "master", true
	auth := &fakeAuth{Answers: []*authhttp.Response{resp}}
	h := serve(t, Options{}, auth)
	h.Play("S: "+greeting, "C: AUTHENTICATE \"PLAIN\" \""+irAlice+"\"\r\n")
	checkLogin(t, h.Login(), "alice@example.com", "master", "")
	checkRequest(t, auth.Requests()[0], "plain", "alice", "s3cret", 1)
}

// TestAuthenticateLogin: LOGIN, when enabled, sends the "Username:" and
// "Password:" challenges as quoted strings.
func TestAuthenticateLogin(t *testing.T) {
	cases := []struct {
		name   string
		script []string
	}{
		{"quoted-literal", []string{
			"C: AUTHENTICATE \"LOGIN\"\r\n", "S: \"VXNlcm5hbWU6\"\r\n",
			"C: \"YWxpY2U=\"\r\n", "S: \"UGFzc3dvcmQ6\"\r\n",
			"C: {8+}\r\nczNjcmV0\r\n",
		}},
		{"initial-response", []string{
			"C: AUTHENTICATE \"login\" \"YWxpY2U=\"\r\n", "S: \"UGFzc3dvcmQ6\"\r\n",
			"C: \"czNjcmV0\"\r\n",
		}},
		{"literal-initial-response", []string{
			"C: AUTHENTICATE \"LOGIN\" {8+}\r\nYWxpY2U=\r\n", "S: \"UGFzc3dvcmQ6\"\r\n",
			"C: {8}\r\nczNjcmV0\r\n",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{Answers: []*authhttp.Response{ok(backendAddr)}}
			h := serve(t, Options{Auth: []string{"plain", "login"}}, auth)
			h.Play("S: " + caps("PLAIN LOGIN", defaultExt, false) + ready)
			h.Play(tc.script...)
			checkLogin(t, h.Login(), "alice", "s3cret", "")
			checkRequest(t, auth.Requests()[0], "plain", "alice", "s3cret", 1)
		})
	}
}

// TestAuthenticateExternal: EXTERNAL, when enabled, takes the
// authorization identity as the user and no password.
func TestAuthenticateExternal(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{ok(backendAddr)}}
	h := serve(t, Options{Auth: []string{"plain", "external"}}, auth, onTLS)
	h.Play("S: "+caps("PLAIN EXTERNAL", defaultExt, false)+ready, "C: AUTHENTICATE \"EXTERNAL\" \"YWxpY2U=\"\r\n")
	checkLogin(t, h.Login(), "alice", "", "")
	checkRequest(t, auth.Requests()[0], "external", "alice", "", 1)
}

// TestAuthenticateUnsupported: a mechanism that is unknown or not
// enabled is NO (not counted) and starts no exchange.
func TestAuthenticateUnsupported(t *testing.T) {
	cases := []struct {
		name  string
		auth  []string
		names string
		line  string
	}{
		{"login-disabled", nil, "PLAIN", "AUTHENTICATE \"LOGIN\"\r\n"},
		{"login-disabled-ir", nil, "PLAIN", "AUTHENTICATE \"LOGIN\" \"YWxpY2U=\"\r\n"},
		{"external-disabled", []string{"plain", "login"}, "PLAIN LOGIN", "AUTHENTICATE \"EXTERNAL\" \"YWxpY2U=\"\r\n"},
		{"cram-md5", nil, "PLAIN", "AUTHENTICATE \"CRAM-MD5\"\r\n"},
		{"unknown", nil, "PLAIN", "AUTHENTICATE \"DIGEST-MD5\"\r\n"},
		{"unknown-ir", nil, "PLAIN", "AUTHENTICATE \"SCRAM-SHA-256\" \"biwsbj11c2VyLHI9\"\r\n"},
		{"empty", nil, "PLAIN", "AUTHENTICATE \"\"\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{Answers: []*authhttp.Response{ok(backendAddr)}}
			h := serve(t, Options{Auth: tc.auth, MaxErrors: 1}, auth)
			h.Play("S: "+caps(tc.names, defaultExt, false)+ready, "C: "+tc.line, "S: "+rMechanism, "C: "+tc.line, "S: "+rMechanism, "C: NOOP\r\n", "S: "+rNoop, "C: LOGOUT\r\n", "S: "+rLogout)
			h.CloseWith(session.ErrClosed)
			if n := len(auth.Requests()); n != 0 {
				t.Fatalf("%d auth requests", n)
			}
		})
	}
}

// TestListingMatchesAccepted: the SASL capability offers exactly the
// mechanisms AUTHENTICATE accepts, whatever Options.Auth holds: an
// offered mechanism is never answered "Unsupported authentication
// mechanism.", and CRAM-MD5, which ManageSieve never accepts, is never
// offered.
func TestListingMatchesAccepted(t *testing.T) {
	cases := []struct {
		auth  []string
		names string
	}{
		{[]string{"plain"}, "PLAIN"},
		{[]string{"plain", "login", "external"}, "PLAIN LOGIN EXTERNAL"},
		{[]string{"plain", "cram-md5"}, "PLAIN"},
		{[]string{"plain", "login", "cram-md5", "external"}, "PLAIN LOGIN EXTERNAL"},
		{[]string{"PLAIN", "CRAM-MD5", "Login"}, "PLAIN LOGIN"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.auth, "+"), func(t *testing.T) {
			h := serve(t, Options{Auth: tc.auth}, &fakeAuth{}, onTLS)
			h.Play("S: "+caps(tc.names, defaultExt, false)+ready,
				"C: AUTHENTICATE \"CRAM-MD5\"\r\n", "S: "+rMechanism,
				"C: LOGOUT\r\n", "S: "+rLogout)
			h.CloseWith(session.ErrClosed)
		})
	}
}

// TestAuthenticateInvalid: a response that is not valid base64 or not a
// valid PLAIN message, or a continuation line that is not one string, is
// NO "Invalid SASL response." (not counted) and ends the exchange.
func TestAuthenticateInvalid(t *testing.T) {
	cases := []struct {
		name   string
		script []string
	}{
		{"ir-bad-base64", []string{"C: AUTHENTICATE \"PLAIN\" \"!!!!\"\r\n"}},
		{"ir-bad-length", []string{"C: AUTHENTICATE \"PLAIN\" \"AGFsa\"\r\n"}},
		{"ir-no-nul", []string{"C: AUTHENTICATE \"PLAIN\" \"YWxpY2U=\"\r\n"}},
		{"ir-no-password", []string{"C: AUTHENTICATE \"PLAIN\" \"AGFsaWNl\"\r\n"}},
		{"ir-empty", []string{"C: AUTHENTICATE \"PLAIN\" \"\"\r\n"}},
		{"ir-star", []string{"C: AUTHENTICATE \"PLAIN\" \"*\"\r\n"}},
		{"continuation-bad-base64", []string{"C: AUTHENTICATE \"PLAIN\"\r\n", "S: \"\"\r\n", "C: \"AG=Fs!\"\r\n"}},
		{"continuation-literal-bad", []string{"C: AUTHENTICATE \"PLAIN\"\r\n", "S: \"\"\r\n", "C: {4+}\r\n!!!!\r\n"}},
		{"continuation-empty-string", []string{"C: AUTHENTICATE \"PLAIN\"\r\n", "S: \"\"\r\n", "C: \"\"\r\n"}},
		{"continuation-two-strings", []string{"C: AUTHENTICATE \"PLAIN\"\r\n", "S: \"\"\r\n", "C: \"" + irAlice + "\" \"x\"\r\n"}},
		{"continuation-empty-line", []string{"C: AUTHENTICATE \"PLAIN\"\r\n", "S: \"\"\r\n", "C: \r\n"}},
		{"login-password-bad", []string{"C: AUTHENTICATE \"LOGIN\" \"YWxpY2U=\"\r\n", "S: \"UGFzc3dvcmQ6\"\r\n", "C: \"%%%\"\r\n"}},
		{"login-user-bad", []string{"C: AUTHENTICATE \"LOGIN\"\r\n", "S: \"VXNlcm5hbWU6\"\r\n", "C: \"a\"\r\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{Answers: []*authhttp.Response{ok(backendAddr)}}
			h := serve(t, Options{Auth: []string{"plain", "login"}, MaxErrors: 1}, auth)
			h.Play("S: " + caps("PLAIN LOGIN", defaultExt, false) + ready)
			h.Play(tc.script...)
			h.Play("S: "+rSASL, "C: NOOP\r\n", "S: "+rNoop, "C: LOGOUT\r\n", "S: "+rLogout)
			h.CloseWith(session.ErrClosed)
			if n := len(auth.Requests()); n != 0 {
				t.Fatalf("%d auth requests", n)
			}
		})
	}
}

// TestAuthenticateInvalidLogged: a bad base64 response is logged the
// nginx way.
func TestAuthenticateInvalidLogged(t *testing.T) {
	h := serve(t, Options{}, &fakeAuth{})
	h.Play("S: "+greeting, "C: AUTHENTICATE \"PLAIN\" \"!!!!\"\r\n", "S: "+rSASL, "C: LOGOUT\r\n", "S: "+rLogout)
	h.CloseWith(session.ErrClosed)
	if !strings.Contains(h.Log.String(), "client sent invalid base64 encoding in AUTH PLAIN command") {
		t.Fatalf("log: %s", h.Log.String())
	}
}

// TestAuthenticateCancel: "*" (quoted or bare, RFC 5804 §2.1) cancels
// the exchange with NO; the session goes on.
func TestAuthenticateCancel(t *testing.T) {
	cases := []struct {
		name   string
		script []string
	}{
		{"quoted", []string{"C: AUTHENTICATE \"PLAIN\"\r\n", "S: \"\"\r\n", "C: \"*\"\r\n"}},
		{"bare", []string{"C: AUTHENTICATE \"PLAIN\"\r\n", "S: \"\"\r\n", "C: *\r\n"}},
		{"bare-lf", []string{"C: AUTHENTICATE \"PLAIN\"\r\n", "S: \"\"\r\n", "C: *\n"}},
		{"literal", []string{"C: AUTHENTICATE \"PLAIN\"\r\n", "S: \"\"\r\n", "C: {1+}\r\n*\r\n"}},
		{"login-user", []string{"C: AUTHENTICATE \"LOGIN\"\r\n", "S: \"VXNlcm5hbWU6\"\r\n", "C: \"*\"\r\n"}},
		{"login-password", []string{"C: AUTHENTICATE \"LOGIN\" \"YWxpY2U=\"\r\n", "S: \"UGFzc3dvcmQ6\"\r\n", "C: *\r\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{Answers: []*authhttp.Response{ok(backendAddr)}}
			h := serve(t, Options{Auth: []string{"plain", "login"}, MaxErrors: 1}, auth)
			h.Play("S: " + caps("PLAIN LOGIN", defaultExt, false) + ready)
			h.Play(tc.script...)
			h.Play("S: "+rAborted,
				// The exchange is over: the next line is a command again.
				"C: NOOP\r\n", "S: "+rNoop,
				"C: AUTHENTICATE \"PLAIN\" \""+irAlice+"\"\r\n")
			checkLogin(t, h.Login(), "alice", "s3cret", "")
			checkRequest(t, auth.Requests()[0], "plain", "alice", "s3cret", 1)
		})
	}
}

// TestAuthenticateSyntax: AUTHENTICATE without a mechanism string, with
// a bare atom mechanism or with too many arguments is a syntax error,
// counted; so is a bad SASL response line, which ends the exchange.
func TestAuthenticateSyntax(t *testing.T) {
	for _, line := range []string{
		"AUTHENTICATE\r\n",
		"AUTHENTICATE PLAIN\r\n",
		"AUTHENTICATE PLAIN \"" + irAlice + "\"\r\n",
		"AUTHENTICATE \"PLAIN\" \"" + irAlice + "\" \"x\"\r\n",
		"AUTHENTICATE \"PLAIN\" a b c\r\n",
		"AUTHENTICATE \"PLAIN\" \"" + irAlice + "\r\n",
		"AUTHENTICATE \"PLAIN\" \"" + irAlice + "\"x\r\n",
	} {
		t.Run(strings.TrimSpace(line), func(t *testing.T) {
			auth := &fakeAuth{Answers: []*authhttp.Response{ok(backendAddr)}}
			h := serve(t, Options{MaxErrors: 2}, auth)
			h.Play("S: "+greeting, "C: "+line, "S: "+rSyntax, "C: NOOP\r\n", "S: "+rNoop, "C: "+line, "S: "+rSyntax)
			h.CloseWith(session.ErrClosed)
			if n := len(auth.Requests()); n != 0 {
				t.Fatalf("%d auth requests", n)
			}
		})
	}
	t.Run("response", func(t *testing.T) {
		auth := &fakeAuth{Answers: []*authhttp.Response{ok(backendAddr)}}
		h := serve(t, Options{MaxErrors: 2}, auth)
		h.Play(
			"S: "+greeting,
			"C: AUTHENTICATE \"PLAIN\"\r\n", "S: \"\"\r\n",
			"C: \""+irAlice+"\r\n", "S: "+rSyntax, // unterminated quoted string
			"C: NOOP\r\n", "S: "+rNoop, // the exchange is over
			"C: AUTHENTICATE \"PLAIN\"\r\n", "S: \"\"\r\n",
			"C:  \""+irAlice+"\"\r\n", "S: "+rSyntax, // leading space: second error
		)
		h.CloseWith(session.ErrClosed)
		if n := len(auth.Requests()); n != 0 {
			t.Fatalf("%d auth requests", n)
		}
	})
}

// TestAuthRetry: a refusal with Auth-Wait is answered with NO and the
// auth service's text (quoted, '"' and '\' escaped) after the delay; the
// next AUTHENTICATE is attempt 2.
func TestAuthRetry(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{fail(`Bad "pw" \ try again`, 400*time.Millisecond), ok(backendAddr)}}
	h := serve(t, Options{}, auth)
	h.Play("S: "+greeting, "C: AUTHENTICATE \"PLAIN\" \""+irAlice+"\"\r\n")
	start := time.Now()
	h.Silent(250 * time.Millisecond)
	h.Play(`S: NO "Bad \"pw\" \\ try again"` + "\r\n")
	if d := time.Since(start); d < 350*time.Millisecond {
		t.Fatalf("refusal after %v, before the Auth-Wait delay", d)
	}
	h.Play("C: AUTHENTICATE \"PLAIN\"\r\n", "S: \"\"\r\n", "C: {24+}\r\n"+irBob+"\r\n")
	checkLogin(t, h.Login(), "bob", "password12345", "")
	reqs := auth.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d auth requests", len(reqs))
	}
	checkRequest(t, reqs[0], "plain", "alice", "s3cret", 1)
	checkRequest(t, reqs[1], "plain", "bob", "password12345", 2)
}

// TestAuthRefused: a refusal without Auth-Wait is answered and ends the
// session; a text with CR or LF is sent as a literal.
func TestAuthRefused(t *testing.T) {
	cases := []struct{ text, reply string }{
		{"Invalid credentials", "NO \"Invalid credentials\"\r\n"},
		{`a\b"c`, `NO "a\\b\"c"` + "\r\n"},
		{"", "NO \"\"\r\n"},
		{"line1\r\nline2", "NO {12}\r\nline1\r\nline2\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.text, func(t *testing.T) {
			auth := &fakeAuth{Answers: []*authhttp.Response{fail(tc.text, 0), ok(backendAddr)}}
			h := serve(t, Options{}, auth)
			h.Play("S: "+greeting, "C: AUTHENTICATE \"PLAIN\" \""+irAlice+"\"\r\nNOOP\r\n", "S: "+tc.reply)
			h.CloseWith(session.ErrClosed)
			if reqs := auth.Requests(); len(reqs) != 1 {
				t.Fatalf("%d auth requests", len(reqs))
			}
		})
	}
}

// TestAuthServiceError: an auth service failure is BYE "Internal server
// error." and ends the session with the failure.
func TestAuthServiceError(t *testing.T) {
	auth := &fakeAuth{} // no scripted answer: Do fails
	h := serve(t, Options{}, auth)
	h.Play("S: "+greeting, "C: AUTHENTICATE \"PLAIN\" \""+irAlice+"\"\r\n", "S: BYE \"Internal server error.\"\r\n")
	err := h.Ended(nil)
	if errors.Is(err, session.ErrClosed) || !strings.Contains(err.Error(), "no scripted answer") {
		t.Fatalf("err = %v", err)
	}
	h.Closed()
	if string(Replies.InternalError) != "BYE \"Internal server error.\"\r\n" {
		t.Fatalf("Replies.InternalError = %q", Replies.InternalError)
	}

	// An answer the engine cannot act on (a WAIT that reached the front
	// end) is the same internal error.
	auth = &fakeAuth{Answers: []*authhttp.Response{{Status: authhttp.StatusWait}}}
	h = serve(t, Options{}, auth)
	h.Play("S: "+greeting, "C: AUTHENTICATE \"PLAIN\" \""+irAlice+"\"\r\n", "S: BYE \"Internal server error.\"\r\n")
	if err := h.Ended(nil); errors.Is(err, session.ErrClosed) {
		t.Fatalf("err = %v", err)
	}
	h.Closed()
}

// TestLoginFirst: the commands of the authenticated state are NO "Log in
// first." before login, not counted.
func TestLoginFirst(t *testing.T) {
	script := "require \"fileinto\";\r\nkeep;\r\n"
	h := serve(t, Options{MaxErrors: 1}, &fakeAuth{})
	h.Play("S: " + greeting)
	for _, line := range []string{
		"HAVESPACE \"myscript\" 999\r\n",
		"PUTSCRIPT \"myscript\" {" + strconv.Itoa(len(script)) + "+}\r\n" + script + "\r\n",
		"PUTSCRIPT \"myscript\" {" + strconv.Itoa(len(script)) + "}\r\n" + script + "\r\n",
		"LISTSCRIPTS\r\n",
		"listscripts\r\n",
		"SETACTIVE \"myscript\"\r\n",
		"SETACTIVE \"\"\r\n",
		"GETSCRIPT \"myscript\"\r\n",
		"DELETESCRIPT \"myscript\"\r\n",
		"RENAMESCRIPT \"a\" \"b\"\r\n",
		"CHECKSCRIPT {5+}\r\nkeep;\r\n",
		"UNAUTHENTICATE\r\n",
	} {
		h.Play("C: "+line, "S: "+rLoginFst)
	}
	h.Play("C: NOOP\r\n", "S: "+rNoop, "C: FOO\r\n", "S: "+rUnknown) // MaxErrors 1: the first counted error ends it
	h.CloseWith(session.ErrClosed)
}

// TestErrorsCounted: unknown commands and syntax errors count toward
// max_errors; at the limit the session ends after the reply, pipelined
// commands unanswered.
func TestErrorsCounted(t *testing.T) {
	h := serve(t, Options{MaxErrors: 4}, &fakeAuth{})
	h.Play(
		"S: "+greeting,
		"C: FOO\r\n", "S: "+rUnknown,
		"C: LISTSCRIPTS\r\n", "S: "+rLoginFst,
		"C: \r\n", "S: "+rSyntax,
		"C: NOOP\r\n", "S: "+rNoop,
		"C: XYZZY \"a\" {1+}\r\nb\r\n", "S: "+rUnknown,
		"C: STARTTLS\r\n", "S: "+rNoSTLS,
		"C: AUTH \"PLAIN\"\r\nNOOP\r\n", "S: "+rUnknown, // fourth: the pipelined NOOP never runs
	)
	h.CloseWith(session.ErrClosed)
	if !strings.Contains(h.Log.String(), "client sent too many invalid commands") {
		t.Fatalf("log: %s", h.Log.String())
	}
}

// TestSyntaxErrors: each bad line is answered once, whole, with NO
// "Syntax error."; the next line is a command again.
func TestSyntaxErrors(t *testing.T) {
	lines := []string{
		"\r\n",
		"\n",
		" NOOP\r\n",
		"1NOOP\r\n",
		"NO-OP\r\n",
		"NOOP\t\r\n",
		"NOOP\rX\r\n",
		"NOOP \"a\r\n",
		"NOOP \"a\x00\"\r\n",
		`NOOP "a\x"` + "\r\n",
		"NOOP a\"b\"\r\n",
		"NOOP \"a\"b\r\n",
		"NOOP (TAG)\r\n",
		"NOOP \"a\" \"b\" \"c\" \"d\"\r\n",
		"NOOP {}\r\n",
		"NOOP {x}\r\n",
		"NOOP {3-}\r\n",
		"NOOP {3}X\r\n",
		"NOOP {3}\r\nabcX\r\n",
		"NOOP {1073741825+}\r\n",
		"NOOP {99999999999999999999}\r\n",
	}
	h := serve(t, Options{MaxErrors: 1000}, &fakeAuth{})
	h.Play("S: " + greeting)
	for _, l := range lines {
		h.Play("C: "+l, "S: "+rSyntax, "C: NOOP \"next\"\r\n", "S: OK (TAG \"next\") \"Done\"\r\n")
	}
	// All at once, pipelined.
	h.Play("C: " + strings.Join(lines, ""))
	for range lines {
		h.Play("S: " + rSyntax)
	}
	h.Play("C: NOOP\r\n", "S: "+rNoop)
	h.C.Close()
	h.Ended(nil)
}

// TestSplitLines: a line split over several reads is answered once, when
// its LF arrives, whether it is good or bad.
func TestSplitLines(t *testing.T) {
	h := serve(t, Options{MaxErrors: 100}, &fakeAuth{})
	h.Play("S: " + greeting)
	pieces := func(reply string, parts ...string) {
		t.Helper()
		for _, p := range parts {
			h.Play("C: " + p)
			h.Silent(60 * time.Millisecond)
		}
		h.Play("C: \n", "S: "+reply)
	}
	pieces("OK (TAG \"tag\") \"Done\"\r\n", "NOO", "P \"ta", "g\"", "\r")
	pieces("OK (TAG \"abc\") \"Done\"\r\n", "NOOP {3+}", "\r\n", "ab", "c", "\r")
	pieces(rSyntax, "1NO", "OP x", " y\r")                  // bad from its first byte
	pieces(rSyntax, "NOOP \"a\\x", "yz\"", "\r")            // bad escape before the LF
	pieces(rSyntax, "NOOP\r", "X\r")                        // CR not followed by LF
	pieces(rSyntax, "NOOP ", "\"a\" \"b\" \"c\" ", "\"d\"") // too many arguments
	pieces(rUnknown, "FO", "O")
	h.Play("C: NOOP\r\n", "S: "+rNoop)
	h.C.Close()
	h.Ended(nil)
}

// TestSplitBadLineCounted: a bad line answered once its LF arrives
// counts toward max_errors like any other.
func TestSplitBadLineCounted(t *testing.T) {
	h := serve(t, Options{MaxErrors: 2}, &fakeAuth{})
	h.Play("S: "+greeting, "C: 1NO")
	h.Silent(60 * time.Millisecond)
	h.Play("C: OP\r\n", "S: "+rSyntax, "C: NOOP \"a\\x")
	h.Silent(60 * time.Millisecond)
	h.Play("C: \"\r\nNOOP\r\n", "S: "+rSyntax) // the second error ends the session
	h.CloseWith(session.ErrClosed)
}

// TestTooLong: a command (with its literals, or a SASL response) that
// does not fit the client buffer is BYE "Command too long." and
// session.ErrTooLong; one that just fits is served; a bad line longer
// than the buffer is skipped and answered.
func TestTooLong(t *testing.T) {
	const buf = 64
	t.Run("fits", func(t *testing.T) {
		h := serve(t, Options{ClientBuffer: buf}, &fakeAuth{})
		tag := strings.Repeat("x", buf-len("NOOP \"\"\r\n"))
		h.Play("S: "+greeting, "C: NOOP \""+tag+"\"\r\n", "S: OK (TAG \""+tag+"\") \"Done\"\r\n", "C: LOGOUT\r\n", "S: "+rLogout)
		h.CloseWith(session.ErrClosed)
	})
	for _, tc := range []struct{ name, lines string }{
		{"quoted", "NOOP \"" + strings.Repeat("x", buf-len("NOOP \"\"\r\n")+1) + "\"\r\n"},
		{"verb", strings.Repeat("A", buf+10) + "\r\n"},
		{"literal", "NOOP {100+}\r\n" + strings.Repeat("y", 100) + "\r\n"},
		{"authenticate", "AUTHENTICATE \"PLAIN\" \"" + strings.Repeat("A", 100) + "\"\r\n"},
		{"sasl-response", "AUTHENTICATE \"PLAIN\"\r\n\"" + strings.Repeat("A", 100) + "\"\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{Answers: []*authhttp.Response{ok(backendAddr)}}
			h := serve(t, Options{ClientBuffer: buf}, auth)
			h.Play("S: " + greeting)
			if strings.HasPrefix(tc.name, "sasl") {
				h.Play("C: AUTHENTICATE \"PLAIN\"\r\n", "S: \"\"\r\n")
				tc.lines = tc.lines[len("AUTHENTICATE \"PLAIN\"\r\n"):]
			}
			h.Play("C: "+tc.lines, "S: BYE \"Command too long.\"\r\n")
			h.CloseWith(session.ErrTooLong)
			if n := len(auth.Requests()); n != 0 {
				t.Fatalf("%d auth requests", n)
			}
			if !strings.Contains(h.Log.String(), "client sent too long command") {
				t.Fatalf("log: %s", h.Log.String())
			}
		})
	}
	t.Run("bad-line-skipped", func(t *testing.T) {
		h := serve(t, Options{ClientBuffer: buf}, &fakeAuth{})
		h.Play("S: "+greeting, "C: 1"+strings.Repeat("x", 5*buf)+"\r\n", "S: "+rSyntax, "C: NOOP\r\n", "S: "+rNoop)
		h.Play("C: NOOP \"a\\b"+strings.Repeat("x", 5*buf)+"\"\r\n", "S: "+rSyntax, "C: NOOP\r\n", "S: "+rNoop)
		h.C.Close()
		h.Ended(nil)
	})
}

// TestTimeout: a client that stays silent is cut at the pre-auth
// deadline, which commands do not re-arm; nothing is sent.
func TestTimeout(t *testing.T) {
	const timeout = 500 * time.Millisecond
	start := time.Now()
	h := serve(t, Options{}, &fakeAuth{}, withTimeout(timeout))
	h.Play("S: " + greeting)
	time.Sleep(300 * time.Millisecond)
	h.Play("C: NOOP\r\n", "S: "+rNoop)
	err := h.Ended(nil)
	elapsed := time.Since(start)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if elapsed < timeout-20*time.Millisecond || elapsed > timeout+250*time.Millisecond {
		t.Fatalf("session ended after %v, want about %v (the deadline is not re-armed)", elapsed, timeout)
	}
	h.Closed()
}

// TestQuote: ManageSieve strings as the server renders them.
func TestQuote(t *testing.T) {
	long := strings.Repeat("z", 1025)
	for in, want := range map[string]string{
		"":                        `""`,
		"plain":                   `"plain"`,
		`a"b`:                     `"a\"b"`,
		`a\b`:                     `"a\\b"`,
		`\"`:                      `"\\\""`,
		"a\r\nb":                  "{4}\r\na\r\nb",
		"nul\x00":                 "{4}\r\nnul\x00",
		strings.Repeat("z", 1024): `"` + strings.Repeat("z", 1024) + `"`,
		long:                      "{1025}\r\n" + long,
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%.20q) = %.40q, want %.40q", in, got, want)
		}
	}
	for n, want := range map[int]string{0: "0", 7: "7", 10: "10", 1234567890: "1234567890"} {
		if got := itoa(n); got != want {
			t.Errorf("itoa(%d) = %q", n, got)
		}
	}
}

// TestServerMeta: the protocol's name and replies.
func TestServerMeta(t *testing.T) {
	s := NewServer(Options{})
	if s.Name() != "sieve" || s.Replies() != Replies {
		t.Fatalf("Name %q Replies %p", s.Name(), s.Replies())
	}
	if string(Replies.CertError) != "BYE \"SSL certificate error\"\r\n" || string(Replies.NoCert) != "BYE \"No required SSL certificate\"\r\n" {
		t.Fatalf("replies %q %q", Replies.CertError, Replies.NoCert)
	}
	var _ session.Protocol = s
}
