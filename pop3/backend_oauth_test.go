package pop3

import (
	"errors"
	"net/netip"
	"testing"

	"mailproxy/authhttp"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// loginVia runs the front end with o to the login the auth service's
// answer resp accepts after line.
func loginVia(t *testing.T, o Options, resp *authhttp.Response, line string) *session.Login {
	t.Helper()
	h := serve(t, o, &fakeAuth{Answers: []*authhttp.Response{resp}}, func(sc *session.Conn) {
		sc.Client = netip.MustParseAddrPort("[2001:db8::7]:51234")
		sc.SessionID = "S1"
	})
	h.Line()
	h.Play("C: " + line + "\r\n")
	return h.Login()
}

// TestBackendXCLIENT: proxy_forward xclient sends Dovecot's XCLIENT
// before USER, whatever the backend answers to it.
func TestBackendXCLIENT(t *testing.T) {
	l := loginVia(t, Options{Forward: true}, ok("127.0.0.1:110"), "AUTH PLAIN AGFsaWNlAHNlY3JldA==")
	for _, answer := range []string{"B: +OK Updated\r\n", "B: -ERR Unknown command\r\n"} {
		relay, err := runBackend(t, l, 4096, "B: +OK Dovecot ready.\r\n",
			"S: XCLIENT ADDR=2001:db8::7 PORT=51234 SESSION=S1\r\n", answer,
			"S: USER alice\r\n", "B: +OK\r\n", "S: PASS secret\r\n", "B: +OK Logged in.\r\n")
		if err != nil || string(relay) != "+OK Logged in.\r\n" {
			t.Fatalf("%q %v", relay, err)
		}
	}
}

// TestBackendOAuth: Auth-Backend-Method logs in with AUTH and the
// mechanism's message; the backend's error challenge is acknowledged.
func TestBackendOAuth(t *testing.T) {
	ob := sasl.Encode(sasl.OAuthBearerMessage("alice", "tok"))
	resp := ok("127.0.0.1:110")
	resp.BackendMethod = authhttp.MethodOAuthBearer
	l := loginVia(t, Options{Auth: []string{"oauthbearer"}}, resp, "AUTH OAUTHBEARER "+ob)
	relay, err := runBackend(t, l, 4096, "B: +OK ready\r\n", "S: AUTH OAUTHBEARER\r\n", "B: + \r\n", "S: "+ob+"\r\n", "B: +OK Logged in.\r\n")
	if err != nil || string(relay) != "+OK Logged in.\r\n" {
		t.Fatalf("%q %v", relay, err)
	}
	_, err = runBackend(t, l, 4096, "B: +OK ready\r\n", "S: AUTH OAUTHBEARER\r\n", "B: + \r\n", "S: "+ob+"\r\n",
		"B: + eyJzdGF0dXMiOiI0MDEifQ==\r\n", "S: AQ==\r\n", "B: -ERR [AUTH] Authentication failed.\r\n")
	var be *session.BackendError
	if !errors.As(err, &be) || be.Text != "-ERR [AUTH] Authentication failed." {
		t.Fatalf("err %#v", err)
	}
	_, err = runBackend(t, l, 4096, "B: +OK ready\r\n", "S: AUTH OAUTHBEARER\r\n", "B: -ERR Unsupported\r\n")
	if !errors.As(err, &be) || be.Text != "-ERR Unsupported" {
		t.Fatalf("err %#v", err)
	}

	xo := sasl.Encode(sasl.XOAUTH2Message("alice", "tok"))
	resp = ok("127.0.0.1:110")
	resp.BackendMethod = authhttp.MethodXOAUTH2
	l = loginVia(t, Options{Auth: []string{"xoauth2"}, Forward: true}, resp, "AUTH XOAUTH2 "+xo)
	if _, err := runBackend(t, l, 4096, "B: +OK ready\r\n", "S: XCLIENT ADDR=2001:db8::7 PORT=51234 SESSION=S1\r\n", "B: +OK\r\n",
		"S: AUTH XOAUTH2\r\n", "B: + \r\n", "S: "+xo+"\r\n", "B: +OK Logged in.\r\n"); err != nil {
		t.Fatal(err)
	}
}
