package smtp

import (
	"errors"
	"testing"

	"mailproxy/authhttp"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// TestBackendOAuth: Auth-Backend-Method ends the login with AUTH in the
// mechanism, its message as the initial response, XCLIENT without
// LOGIN= (the backend authenticates, as with proxy_smtp_auth); the
// backend's 334 error challenge is acknowledged and its 535 is the
// failure. The front end puts the answer's method in the envelope.
func TestBackendOAuth(t *testing.T) {
	x := sasl.Encode(sasl.XOAUTH2Message("alice", "tok"))
	b := sasl.Encode(sasl.OAuthBearerMessage("alice", "tok"))
	resp := ok("127.0.0.1:25")
	resp.BackendMethod = authhttp.MethodOAuthBearer
	h := serve(t, Options{Auth: oauthAuth, XClient: true}, &fakeAuth{Answers: []*authhttp.Response{resp}})
	h.Play(greeting, "C: EHLO client\r\n", "S* 250-", "S* 250 AUTH", "C: AUTH XOAUTH2 "+x+"\r\n")
	l := loginOf(t, h)
	if l.BackendMethod != authhttp.MethodOAuthBearer {
		t.Fatalf("envelope %+v", l.Envelope)
	}
	const (
		greet = "B: 220 be ESMTP\r\n"
		ok250 = "B: 250 be\r\n"
	)
	head := []string{greet, "S: EHLO mx.example.com\r\n", ok250,
		"S: XCLIENT ADDR=192.0.2.10 NAME=[UNAVAILABLE]\r\n", "B: 220 ok\r\n", "S: EHLO client\r\n", ok250}
	relay, err := runBackend(t, Options{XClient: true}, &l, append(head, "S: AUTH OAUTHBEARER "+b+"\r\n", "B: 235 2.7.0 Authentication successful\r\n")...)
	if err != nil || string(relay) != "235 2.0.0 OK\r\n" {
		t.Fatalf("%q %v", relay, err)
	}
	_, err = runBackend(t, Options{XClient: true}, &l, append(head, "S: AUTH OAUTHBEARER "+b+"\r\n",
		"B: 334 eyJzdGF0dXMiOiI0MDEifQ==\r\n", "S: AQ==\r\n", "B: 535 5.7.8 Error: authentication failed\r\n")...)
	var be *session.BackendError
	if !errors.As(err, &be) || be.Text != "535 5.7.8 Error: authentication failed" {
		t.Fatalf("err %#v", err)
	}

	l.BackendMethod = authhttp.MethodXOAUTH2
	relay, err = runBackend(t, Options{}, &l, greet, "S: EHLO mx.example.com\r\n", ok250,
		"S: AUTH XOAUTH2 "+x+"\r\n", "B: 334 e30=\r\n", "S: \r\n", "B: 235 2.7.0 ok\r\n")
	if err != nil || string(relay) != "235 2.0.0 OK\r\n" {
		t.Fatalf("%q %v", relay, err)
	}
}
