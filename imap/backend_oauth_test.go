package imap

import (
	"errors"
	"net/netip"
	"testing"

	"mailproxy/authhttp"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// loginVia runs the front end to a login with opts and resp as the auth
// service's answer, after lines, and returns the login.
func loginVia(t *testing.T, o Options, resp *authhttp.Response, tune func(*session.Conn), lines ...string) *session.Login {
	t.Helper()
	h := serve(t, o, &fakeAuth{Answers: []*authhttp.Response{resp}}, func(sc *session.Conn) {
		if tune != nil {
			tune(sc)
		}
	})
	h.Play(append([]string{"S: * OK IMAP4 ready\r\n"}, lines...)...)
	return h.Login()
}

// TestBackendForwardID: with proxy_forward imap_id the backend gets ID
// with the client's fields and address before nginx's LOGIN; whatever it
// answers to ID, the login follows.
func TestBackendForwardID(t *testing.T) {
	tune := func(sc *session.Conn) {
		sc.Client = netip.MustParseAddrPort("192.0.2.7:51234")
		sc.Local = netip.MustParseAddrPort("203.0.113.1:143")
		sc.SessionID = "S1"
	}
	l := loginVia(t, Options{Forward: true}, ok("127.0.0.1:143"), tune,
		`C: a ID ("name" "Thunderbird" "x-originating-ip" "10.9.9.9")`+"\r\n", "S: * ID NIL\r\n", "S: a OK completed\r\n",
		"C: b LOGIN alice secret\r\n")
	const id = `mailproxy-id ID ("name" "Thunderbird" "x-originating-ip" "192.0.2.7" "x-originating-port" "51234" "x-connected-ip" "203.0.113.1" "x-connected-port" "143" "x-session-id" "S1")` + "\r\n"
	for _, answer := range []string{
		"B: * ID (\"name\" \"Dovecot\")\r\nmailproxy-id OK ID completed.\r\n",
		"B: mailproxy-id BAD unknown command\r\n",
	} {
		relay, err := runBackend(t, l, "B: * OK ready\r\n", "S: "+id, answer,
			"S: b LOGIN {5}\r\n", "B: + go\r\n", "S: alice {6}\r\n", "B: + go\r\n", "S: secret\r\n", "B: b OK Logged in\r\n")
		if err != nil || string(relay) != "b OK Logged in\r\n" {
			t.Fatalf("%q %v", relay, err)
		}
	}
	// Without a client ID only the address goes.
	l = loginVia(t, Options{Forward: true}, ok("127.0.0.1:143"), tune, "C: b LOGIN alice secret\r\n")
	_, err := runBackend(t, l, "B: * OK ready\r\n",
		`S: mailproxy-id ID ("x-originating-ip" "192.0.2.7" "x-originating-port" "51234" "x-connected-ip" "203.0.113.1" "x-connected-port" "143" "x-session-id" "S1")`+"\r\n",
		"B: * ID NIL\r\n", "B: mailproxy-id OK\r\n",
		"S: b LOGIN {5}\r\n", "B: + go\r\n", "S: alice {6}\r\n", "B: + go\r\n", "S: secret\r\n", "B: b OK Logged in\r\n")
	if err != nil {
		t.Fatal(err)
	}
}

// TestBackendOAuth: Auth-Backend-Method makes the backend login
// AUTHENTICATE with the mechanism, the answer's user and the token (or
// Auth-Pass); the backend's error challenge is acknowledged and its NO
// is the failure.
func TestBackendOAuth(t *testing.T) {
	xo := sasl.Encode(sasl.XOAUTH2Message("alice", "tok"))
	resp := ok("127.0.0.1:143")
	resp.BackendMethod = authhttp.MethodXOAUTH2
	l := loginVia(t, oauthOpts, resp, nil, "C: a AUTHENTICATE XOAUTH2 "+xo+"\r\n")
	relay, err := runBackend(t, l, "B: * OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] ready\r\n",
		"S: a AUTHENTICATE XOAUTH2\r\n", "B: + \r\n", "S: "+xo+"\r\n", "B: * CAPABILITY IMAP4rev1\r\n", "B: a OK Logged in\r\n")
	if err != nil || string(relay) != "* CAPABILITY IMAP4rev1\r\na OK Logged in\r\n" {
		t.Fatalf("%q %v", relay, err)
	}

	resp = ok("127.0.0.1:143")
	resp.BackendMethod, resp.User, resp.HasUser = authhttp.MethodOAuthBearer, "alice@example.com", true
	l = loginVia(t, oauthOpts, resp, nil, "C: a AUTHENTICATE XOAUTH2 "+xo+"\r\n")
	ob := sasl.Encode(sasl.OAuthBearerMessage("alice@example.com", "tok"))
	_, err = runBackend(t, l, "B: * OK ready\r\n",
		"S: a AUTHENTICATE OAUTHBEARER\r\n", "B: + \r\n", "S: "+ob+"\r\n", "B: + eyJzdGF0dXMiOiI0MDEifQ==\r\n",
		"S: AQ==\r\n", "B: a NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
	var be *session.BackendError
	if !errors.As(err, &be) || be.Text != "NO [AUTHENTICATIONFAILED] Authentication failed." || be.Reply == nil {
		t.Fatalf("err %#v", err)
	}

	// A backend refusing the mechanism outright.
	_, err = runBackend(t, l, "B: * OK ready\r\n", "S: a AUTHENTICATE OAUTHBEARER\r\n", "B: a NO unsupported\r\n")
	if !errors.As(err, &be) || be.Text != "a NO unsupported" {
		t.Fatalf("err %#v", err)
	}

	// A LOGIN client whose auth service says so logs in to the backend
	// with the mechanism too (Auth-Pass the token).
	resp = ok("127.0.0.1:143")
	resp.BackendMethod, resp.Pass, resp.HasPass = authhttp.MethodXOAUTH2, "tok", true
	l = loginVia(t, Options{}, resp, nil, "C: a LOGIN alice secret\r\n")
	if _, err = runBackend(t, l, "B: * OK ready\r\n", "S: a AUTHENTICATE XOAUTH2\r\n", "B: + \r\n", "S: "+xo+"\r\n", "B: a OK Logged in\r\n"); err != nil {
		t.Fatal(err)
	}
	if l.Handover == Handover("a") {
		t.Fatal("an extended hand-over equals the plain one")
	}
}
