package pop3

import (
	"strings"
	"testing"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

var oauthAuth = []string{"plain", "xoauth2", "oauthbearer"}

const errJSON = "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0="

// TestOAuthCapa: CAPA's SASL line and the AUTH listing name both
// mechanisms after the others.
func TestOAuthCapa(t *testing.T) {
	h := serve(t, Options{Auth: oauthAuth}, &fakeAuth{})
	h.Line()
	h.Play("C: CAPA\r\n", "S: +OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nSASL PLAIN LOGIN XOAUTH2 OAUTHBEARER\r\n.\r\n",
		"C: AUTH\r\n", "S: +OK methods supported:\r\nPLAIN\r\nLOGIN\r\nXOAUTH2\r\nOAUTHBEARER\r\n.\r\n")
}

// TestOAuthLogin: both mechanisms, with and without an initial response;
// a real-sized token fits the buffer (freenginx's 128 bytes would not).
func TestOAuthLogin(t *testing.T) {
	token := strings.Repeat("t", 2000)
	x := sasl.Encode(sasl.XOAUTH2Message("alice", token))
	b := sasl.Encode(sasl.OAuthBearerMessage("alice", token))
	cases := []struct {
		name, method string
		lines        []string
	}{
		{"xoauth2-ir", "xoauth2", []string{"C: AUTH XOAUTH2 " + x + "\r\n"}},
		{"xoauth2", "xoauth2", []string{"C: AUTH XOAUTH2\r\n", "S: + \r\n", "C: " + x + "\r\n"}},
		{"oauthbearer-ir", "oauthbearer", []string{"C: AUTH OAUTHBEARER " + b + "\r\n"}},
		{"oauthbearer", "oauthbearer", []string{"C: auth oauthbearer\r\n", "S: + \r\n", "C: " + b + "\r\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:110")}}
			h := serve(t, Options{Auth: oauthAuth}, auth)
			h.Line()
			h.Play(tc.lines...)
			if l := h.Login(); l.User != "alice" || l.Pass != token {
				t.Fatalf("login %q", l.User)
			}
			if q := auth.Requests()[0]; q.Method != tc.method || q.User != "alice" || q.Pass != token || q.Protocol != "pop3" {
				t.Fatalf("request %+v", q.Method)
			}
		})
	}
	// Without an OAuth mechanism the buffer stays nginx's.
	h := serve(t, Options{}, &fakeAuth{})
	h.Line()
	h.Play("C: AUTH XOAUTH2 "+x+"\r\n", "S: -ERR invalid command\r\n")
	h.CloseWith(session.ErrTooLong)
}

// TestOAuthErrorDialogue: the Auth-Error-SASL challenge is "+ TEXT"; the
// acknowledgement gets "-ERR TEXT", anything else "-ERR invalid command";
// without Auth-Wait the session then ends.
func TestOAuthErrorDialogue(t *testing.T) {
	x := sasl.Encode(sasl.XOAUTH2Message("alice", "tok"))
	b := sasl.Encode(sasl.OAuthBearerMessage("alice", "tok"))
	cases := []struct {
		name, cmd, ack, want string
		wait                 time.Duration
	}{
		{"xoauth2-ack", "AUTH XOAUTH2 " + x, "", "-ERR Invalid token\r\n", 100 * time.Millisecond},
		{"xoauth2-ack-no-wait", "AUTH XOAUTH2 " + x, "", "-ERR Invalid token\r\n", 0},
		{"xoauth2-two-args", "AUTH XOAUTH2 " + x, " x", "-ERR invalid command\r\n", 100 * time.Millisecond},
		{"oauthbearer-ack", "AUTH OAUTHBEARER " + b, "AQ==", "-ERR Invalid token\r\n", 100 * time.Millisecond},
		{"oauthbearer-wrong-ack", "AUTH OAUTHBEARER " + b, "*", "-ERR invalid command\r\n", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{Answers: []*authhttp.Response{sessiontest.FailSASL("Invalid token", errJSON, tc.wait)}}
			h := serve(t, Options{Auth: oauthAuth}, auth)
			h.Line()
			h.Play("C: "+tc.cmd+"\r\n", "S: + "+errJSON+"\r\n", "C: "+tc.ack+"\r\n", "S: "+tc.want)
			if tc.wait == 0 {
				h.CloseWith(session.ErrClosed)
				return
			}
			h.Play("C: NOOP\r\n", "S: +OK\r\n", "C: QUIT\r\n", "S: +OK\r\n")
			h.CloseWith(session.ErrClosed)
		})
	}
}
