package sieve

import (
	"strings"
	"testing"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

const errJSON = "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0="

// serveGreeted is serve with the greeting already read.
func serveGreeted(t *testing.T, o Options, auth *sessiontest.FakeAuth) *sessiontest.Harness {
	t.Helper()
	if o.MaxErrors == 0 {
		o.MaxErrors = 5
	}
	h := sessiontest.Serve(t, NewServer(o).Serve, auth)
	for !strings.HasPrefix(h.Line(), "OK") { // the greeting
	}
	return h
}

// TestOAuthListing: the SASL capability names both mechanisms when
// sieve_auth enables them.
func TestOAuthListing(t *testing.T) {
	h := sessiontest.Serve(t, NewServer(Options{Auth: []string{"xoauth2", "oauthbearer"}, MaxErrors: 5}).Serve, &sessiontest.FakeAuth{})
	h.Play(`S: "IMPLEMENTATION" "mailproxy"` + "\r\n" + `"SASL" "PLAIN XOAUTH2 OAUTHBEARER"` + "\r\n")
}

// TestOAuthLogin: the initial response as a string or a literal, or the
// message after an empty challenge string.
func TestOAuthLogin(t *testing.T) {
	x := sasl.Encode(sasl.XOAUTH2Message("alice", "tok"))
	b := sasl.Encode(sasl.OAuthBearerMessage("alice", "tok"))
	cases := []struct {
		name, method string
		lines        []string
	}{
		{"xoauth2-ir", "xoauth2", []string{`C: AUTHENTICATE "XOAUTH2" "` + x + "\"\r\n"}},
		{"oauthbearer-literal", "oauthbearer", []string{`C: AUTHENTICATE "OAUTHBEARER" {` + itoa(len(b)) + "+}\r\n" + b + "\r\n"}},
		{"oauthbearer-challenge", "oauthbearer", []string{`C: AUTHENTICATE "OAUTHBEARER"` + "\r\n", "S: \"\"\r\n", `C: "` + b + "\"\r\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := &sessiontest.FakeAuth{Answers: []*authhttp.Response{sessiontest.OK("127.0.0.1:4190")}}
			h := serveGreeted(t, Options{Auth: []string{"xoauth2", "oauthbearer"}}, auth)
			h.Play(tc.lines...)
			if l := h.Login(); l.User != "alice" || l.Pass != "tok" {
				t.Fatalf("login %+v", l)
			}
			if q := auth.Requests()[0]; q.Method != tc.method || q.User != "alice" || q.Pass != "tok" || q.Protocol != "sieve" {
				t.Fatalf("request %+v", q)
			}
		})
	}
	h := serveGreeted(t, Options{}, &sessiontest.FakeAuth{})
	h.Play(`C: AUTHENTICATE "XOAUTH2" "`+x+"\"\r\n", "S: NO \"Unsupported authentication mechanism.\"\r\n")
}

// TestOAuthErrorDialogue: the Auth-Error-SASL challenge is a quoted
// string (RFC 5804 §2.1); the acknowledgement gets NO with the auth
// service's text, anything else NO "Invalid SASL response." (or the
// cancel's reply); without Auth-Wait the session then ends.
func TestOAuthErrorDialogue(t *testing.T) {
	b := sasl.Encode(sasl.OAuthBearerMessage("alice", "tok"))
	x := sasl.Encode(sasl.XOAUTH2Message("alice", "tok"))
	cases := []struct {
		name, cmd, ack, want string
		wait                 time.Duration
	}{
		{"oauthbearer-ack", `AUTHENTICATE "OAUTHBEARER" "` + b + `"`, `"AQ=="`, "NO \"Invalid token\"\r\n", 100 * time.Millisecond},
		{"oauthbearer-ack-no-wait", `AUTHENTICATE "OAUTHBEARER" "` + b + `"`, `{4+}` + "\r\nAQ==", "NO \"Invalid token\"\r\n", 0},
		{"xoauth2-ack", `AUTHENTICATE "XOAUTH2" "` + x + `"`, `""`, "NO \"Invalid token\"\r\n", 100 * time.Millisecond},
		{"xoauth2-wrong-ack", `AUTHENTICATE "XOAUTH2" "` + x + `"`, `"AQ=="`, "NO \"Invalid SASL response.\"\r\n", 0},
		{"cancel", `AUTHENTICATE "OAUTHBEARER" "` + b + `"`, `"*"`, "NO \"Authentication aborted by client.\"\r\n", 100 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := &sessiontest.FakeAuth{Answers: []*authhttp.Response{sessiontest.FailSASL("Invalid token", errJSON, tc.wait)}}
			h := serveGreeted(t, Options{Auth: []string{"xoauth2", "oauthbearer"}}, auth)
			h.Play("C: "+tc.cmd+"\r\n", "S: \""+errJSON+"\"\r\n", "C: "+tc.ack+"\r\n", "S: "+tc.want)
			if tc.wait == 0 {
				h.CloseWith(session.ErrClosed)
				return
			}
			h.Play("C: NOOP\r\n", "S: OK \"NOOP completed.\"\r\n")
		})
	}
}
