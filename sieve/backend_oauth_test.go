package sieve

import (
	"errors"
	"testing"

	"mailproxy/authhttp"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

// TestBackendOAuth: Auth-Backend-Method makes the backend login
// AUTHENTICATE with the mechanism; the backend's error challenge, a
// quoted string or a literal, is acknowledged before its NO.
func TestBackendOAuth(t *testing.T) {
	b := sasl.Encode(sasl.OAuthBearerMessage("alice", "tok"))
	x := sasl.Encode(sasl.XOAUTH2Message("alice", "tok"))
	resp := sessiontest.OK("127.0.0.1:4190")
	resp.BackendMethod = authhttp.MethodOAuthBearer
	h := serveGreeted(t, Options{Auth: []string{"xoauth2", "oauthbearer"}}, &sessiontest.FakeAuth{Answers: []*authhttp.Response{resp}})
	h.Play(`C: AUTHENTICATE "XOAUTH2" "` + x + "\"\r\n")
	l := h.Login()
	greet := "B: \"IMPLEMENTATION\" \"Dovecot Pigeonhole\"\r\n\"SASL\" \"PLAIN OAUTHBEARER\"\r\nOK \"Ready.\"\r\n"
	relay, err := runBackend(t, l, 4096, greet, `S: AUTHENTICATE "OAUTHBEARER" "`+b+"\"\r\n", "B: OK \"Logged in.\"\r\n")
	if err != nil || string(relay) != "OK \"Logged in.\"\r\n" {
		t.Fatalf("%q %v", relay, err)
	}
	for _, challenge := range []string{"B: \"eyJzdGF0dXMiOiI0MDEifQ==\"\r\n", "B: {24}\r\n", "B: {24}\r\neyJzdGF0dXMiOiI0MDEifQ==\r\n"} {
		script := []string{greet, `S: AUTHENTICATE "OAUTHBEARER" "` + b + "\"\r\n", challenge}
		if challenge == "B: {24}\r\n" {
			script = append(script, "B: eyJzdGF0dXMiOiI0MDEifQ==\r\n")
		}
		script = append(script, "S: \"AQ==\"\r\n", "B: NO \"Authentication failed.\"\r\n")
		_, err = runBackend(t, l, 4096, script...)
		var be *session.BackendError
		if !errors.As(err, &be) || be.Text != `NO "Authentication failed."` {
			t.Fatalf("%q: err %#v", challenge, err)
		}
	}
	l.Handover = backendLogin{method: authhttp.MethodXOAUTH2}
	if _, err := runBackend(t, l, 4096, greet, `S: AUTHENTICATE "XOAUTH2" "`+x+"\"\r\n", "B: \"e30=\"\r\n", "S: \"\"\r\n", "B: OK\r\n"); err != nil {
		t.Fatal(err)
	}
}
