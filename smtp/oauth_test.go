package smtp

import (
	"testing"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

var oauthAuth = []string{"plain", "login", "xoauth2", "oauthbearer"}

const errJSON = "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0="

// TestOAuthEHLO: the AUTH line names both mechanisms after the others.
func TestOAuthEHLO(t *testing.T) {
	h := serve(t, Options{Auth: []string{"oauthbearer", "xoauth2", "none"}}, &fakeAuth{})
	h.Play(greeting, "C: EHLO a\r\n", "S: 250-mx.example.com\r\n250 AUTH XOAUTH2 OAUTHBEARER\r\n")
}

// TestOAuthLogin: with an initial response and after "334 ", the
// request carries freenginx's Auth-Method, the message's user and the
// token; the backend login then knows the method.
func TestOAuthLogin(t *testing.T) {
	x := sasl.Encode(sasl.XOAUTH2Message("alice", "tok"))
	b := sasl.Encode(sasl.OAuthBearerMessage("alice", "tok"))
	cases := []struct {
		name, method string
		lines        []string
	}{
		{"xoauth2-ir", "xoauth2", []string{"C: AUTH XOAUTH2 " + x + "\r\n"}},
		{"xoauth2", "xoauth2", []string{"C: AUTH XOAUTH2\r\n", "S: 334 \r\n", "C: " + x + "\r\n"}},
		{"oauthbearer-ir", "oauthbearer", []string{"C: AUTH OAUTHBEARER " + b + "\r\n"}},
		{"oauthbearer", "oauthbearer", []string{"C: AUTH oauthbearer\r\n", "S: 334 \r\n", "C: " + b + "\r\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:25")}}
			h := serve(t, Options{Auth: oauthAuth}, auth)
			h.Play(append([]string{greeting, "C: EHLO client\r\n", "S* 250-", "S* 250 AUTH"}, tc.lines...)...)
			l := loginOf(t, h)
			if l.User != "alice" || l.Pass != "tok" || l.Method != tc.method || l.Helo != "client" {
				t.Fatalf("login %+v %+v", l.Login, l.Envelope)
			}
			if q := auth.Requests()[0]; q.Method != tc.method || q.User != "alice" || q.Pass != "tok" || q.Protocol != "smtp" {
				t.Fatalf("request %+v", q)
			}
		})
	}
}

// TestOAuthErrorDialogue: the Auth-Error-SASL challenge is "334 TEXT";
// the acknowledgement gets the refusal with its Auth-Error-Code, anything
// else "500 5.5.1 Invalid command"; without Auth-Wait the session then
// ends.
func TestOAuthErrorDialogue(t *testing.T) {
	x := sasl.Encode(sasl.XOAUTH2Message("alice", "tok"))
	b := sasl.Encode(sasl.OAuthBearerMessage("alice", "tok"))
	cases := []struct {
		name, cmd, ack, want string
		wait                 time.Duration
	}{
		{"xoauth2-ack", "AUTH XOAUTH2 " + x, "", "535 5.7.8 Invalid token\r\n", 100 * time.Millisecond},
		{"xoauth2-ack-no-wait", "AUTH XOAUTH2 " + x, "", "535 5.7.8 Invalid token\r\n", 0},
		{"oauthbearer-ack", "AUTH OAUTHBEARER " + b, "AQ==", "535 5.7.8 Invalid token\r\n", 100 * time.Millisecond},
		{"oauthbearer-wrong-ack", "AUTH OAUTHBEARER " + b, "", "500 5.5.1 Invalid command\r\n", 100 * time.Millisecond},
		{"oauthbearer-wrong-ack-no-wait", "AUTH OAUTHBEARER " + b, "AQ== x", "500 5.5.1 Invalid command\r\n", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := sessiontest.FailSASL("Invalid token", errJSON, tc.wait)
			resp.ErrorCode = "535 5.7.8"
			h := serve(t, Options{Auth: oauthAuth}, &fakeAuth{Answers: []*authhttp.Response{resp}})
			h.Play(greeting, "C: "+tc.cmd+"\r\n", "S: 334 "+errJSON+"\r\n", "C: "+tc.ack+"\r\n", "S: "+tc.want)
			if tc.wait == 0 {
				h.CloseWith(session.ErrClosed)
				return
			}
			h.Play("C: NOOP\r\n", "S: 250 2.0.0 OK\r\n")
		})
	}
}
