package imap

import (
	"errors"
	"strings"
	"testing"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

var (
	oauthOpts = Options{Auth: []string{"plain", "xoauth2", "oauthbearer"}}
	// The messages of alice with the token "tok", base64 encoded.
	xoauth2Msg = sasl.Encode(sasl.XOAUTH2Message("alice", "tok"))
	bearerMsg  = sasl.Encode(sasl.OAuthBearerMessage("alice", "tok"))
)

const errJSON = "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0="

// TestOAuthCapability: the mechanisms after the others, as freenginx lists
// them, and SASL-IR when imap_auth names it.
func TestOAuthCapability(t *testing.T) {
	cases := []struct {
		o    Options
		want string
	}{
		{oauthOpts, "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTH=PLAIN AUTH=XOAUTH2 AUTH=OAUTHBEARER\r\n"},
		{Options{Auth: []string{"oauthbearer", "sasl-ir", "login"}}, "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS SASL-IR AUTH=LOGIN AUTH=OAUTHBEARER\r\n"},
		{Options{Auth: []string{"sasl-ir", "plain"}, StartTLS: session.StartTLSOn}, "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS SASL-IR AUTH=PLAIN STARTTLS\r\n"},
		{Options{Auth: []string{"sasl-ir", "plain"}, StartTLS: session.StartTLSOnly}, "* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS STARTTLS LOGINDISABLED\r\n"},
	}
	for _, tc := range cases {
		h := serve(t, tc.o, &fakeAuth{})
		h.Play("S: * OK IMAP4 ready\r\n", "C: t CAPABILITY\r\n", "S: "+tc.want, "S: t OK completed\r\n")
	}
}

// TestOAuthLogin: both mechanisms with an initial response and after an
// empty challenge give freenginx's request: Auth-Method xoauth2 or
// oauthbearer, the message's user, the token as Auth-Pass.
func TestOAuthLogin(t *testing.T) {
	cases := []struct {
		name, method string
		lines        []string
	}{
		{"xoauth2-ir", "xoauth2", []string{"C: a1 AUTHENTICATE XOAUTH2 " + xoauth2Msg + "\r\n"}},
		{"xoauth2-challenge", "xoauth2", []string{"C: a1 authenticate xoauth2\r\n", "S: + \r\n", "C: " + xoauth2Msg + "\r\n"}},
		{"oauthbearer-ir", "oauthbearer", []string{"C: a1 AUTHENTICATE OAUTHBEARER " + bearerMsg + "\r\n"}},
		{"oauthbearer-challenge", "oauthbearer", []string{"C: a1 AUTHENTICATE OAUTHBEARER\r\n", "S: + \r\n", "C: " + bearerMsg + "\r\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:143")}}
			h := serve(t, oauthOpts, auth)
			h.Play(append([]string{"S: * OK IMAP4 ready\r\n"}, tc.lines...)...)
			l := h.Login()
			if l.User != "alice" || l.Pass != "tok" || l.Handover != Handover("a1") {
				t.Fatalf("login %+v", l)
			}
			if q := auth.Requests()[0]; q.Method != tc.method || q.User != "alice" || q.Pass != "tok" || q.Protocol != "imap" {
				t.Fatalf("request %+v", q)
			}
		})
	}
}

// TestOAuthRefused: what nginx refuses (not enabled, malformed messages,
// bad base64) is "<tag> BAD invalid command", logged with freenginx's
// text, and the session goes on.
func TestOAuthRefused(t *testing.T) {
	cases := []struct {
		o    Options
		line string
		log  string
	}{
		{Options{}, "a AUTHENTICATE XOAUTH2 " + xoauth2Msg, ""},
		{Options{Auth: []string{"xoauth2"}}, "a AUTHENTICATE OAUTHBEARER " + bearerMsg, ""},
		{oauthOpts, "a AUTHENTICATE XOAUTH2 " + sasl.Encode([]byte("user=alice")), "client sent invalid login in AUTH XOAUTH2 command"},
		{oauthOpts, "a AUTHENTICATE XOAUTH2 " + sasl.Encode([]byte("user=alice\x01auth=Basic x\x01\x01")), "client sent invalid token in AUTH XOAUTH2 command"},
		{oauthOpts, "a AUTHENTICATE OAUTHBEARER " + sasl.Encode([]byte("n,,\x01auth=Bearer t\x01\x01")), "client sent invalid login in AUTH OAUTHBEARER command"},
		{oauthOpts, "a AUTHENTICATE OAUTHBEARER " + sasl.Encode([]byte("n,a=u,\x01auth=Bearer \x01\x01")), "client sent invalid token in AUTH OAUTHBEARER command"},
		{oauthOpts, "a AUTHENTICATE OAUTHBEARER !!", "client sent invalid base64 encoding in AUTH OAUTHBEARER command"},
	}
	for _, tc := range cases {
		auth := &fakeAuth{}
		h := serve(t, tc.o, auth)
		h.Play("S: * OK IMAP4 ready\r\n", "C: "+tc.line+"\r\n", "S: a BAD invalid command\r\n", "C: b NOOP\r\n", "S: b OK completed\r\n")
		if len(auth.Requests()) != 0 {
			t.Fatalf("%q reached the auth service", tc.line)
		}
		if tc.log != "" && !strings.Contains(h.Log.String(), tc.log) {
			t.Fatalf("%q: log lacks %q:\n%s", tc.line, tc.log, h.Log.String())
		}
	}
}

// TestOAuthErrorDialogue is freenginx's failure dialogue: Auth-Error-SASL
// is a "+ " continuation after the Auth-Wait delay; the mechanism's
// acknowledgement (XOAUTH2: an empty line; OAUTHBEARER: AQ==) gets the
// tagged NO, anything else the tagged BAD; without Auth-Wait the session
// ends after that reply, with it the client may try again.
func TestOAuthErrorDialogue(t *testing.T) {
	const wait = 300 * time.Millisecond
	cases := []struct {
		name   string
		mech   string
		ack    string
		wait   time.Duration
		want   string
		goesOn bool
	}{
		{"xoauth2-ack-wait", "XOAUTH2 " + xoauth2Msg, "", wait, "a1 NO Invalid token\r\n", true},
		{"xoauth2-ack-no-wait", "XOAUTH2 " + xoauth2Msg, "", 0, "a1 NO Invalid token\r\n", false},
		{"xoauth2-space-ack", "XOAUTH2 " + xoauth2Msg, " ", 0, "a1 NO Invalid token\r\n", false},
		{"xoauth2-wrong-ack", "XOAUTH2 " + xoauth2Msg, "AQ==", wait, "a1 BAD invalid command\r\n", true},
		{"xoauth2-wrong-ack-no-wait", "XOAUTH2 " + xoauth2Msg, "*", 0, "a1 BAD invalid command\r\n", false},
		{"oauthbearer-ack-wait", "OAUTHBEARER " + bearerMsg, "AQ==", wait, "a1 NO Invalid token\r\n", true},
		{"oauthbearer-ack-no-wait", "OAUTHBEARER " + bearerMsg, "AQ==", 0, "a1 NO Invalid token\r\n", false},
		{"oauthbearer-empty-ack", "OAUTHBEARER " + bearerMsg, "", wait, "a1 BAD invalid command\r\n", true},
		{"oauthbearer-ack-and-more", "OAUTHBEARER " + bearerMsg, "AQ== AQ==", wait, "a1 BAD invalid command\r\n", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{Answers: []*authhttp.Response{
				sessiontest.FailSASL("Invalid token", errJSON, tc.wait),
				ok("127.0.0.1:143"),
			}}
			h := serve(t, oauthOpts, auth)
			h.Play("S: * OK IMAP4 ready\r\n", "C: a1 AUTHENTICATE "+tc.mech+"\r\n")
			start := time.Now()
			h.Play("S: + " + errJSON + "\r\n")
			if d := time.Since(start); d < tc.wait-50*time.Millisecond {
				t.Fatalf("challenge after %v, before Auth-Wait %v", d, tc.wait)
			}
			h.Play("C: "+tc.ack+"\r\n", "S: "+tc.want)
			if !tc.goesOn {
				h.CloseWith(session.ErrClosed)
				return
			}
			h.Play("C: a2 NOOP\r\n", "S: a2 OK completed\r\n", "C: a3 LOGIN alice secret\r\n")
			if l := h.Login(); l.Handover != Handover("a3") {
				t.Fatalf("login %+v", l)
			}
			if q := auth.Requests()[1]; q.LoginAttempt != 2 || q.Method != "plain" {
				t.Fatalf("second request %+v", q)
			}
		})
	}
}

// TestOAuthErrorWithoutChallenge: a refusal without Auth-Error-SASL is
// the usual one, and Auth-Error-SASL on a PLAIN login is ignored.
func TestOAuthErrorWithoutChallenge(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{
		sessiontest.Fail("No", 50*time.Millisecond),
		sessiontest.FailSASL("No", errJSON, 50*time.Millisecond),
	}}
	h := serve(t, oauthOpts, auth)
	h.Play("S: * OK IMAP4 ready\r\n",
		"C: a1 AUTHENTICATE XOAUTH2 "+xoauth2Msg+"\r\n", "S: a1 NO No\r\n",
		"C: a2 LOGIN alice secret\r\n", "S: a2 NO No\r\n",
		"C: a3 NOOP\r\n", "S: a3 OK completed\r\n")
}

// TestOAuthErrorClientLeaves: a client that hangs up instead of
// answering the challenge ends the session.
func TestOAuthErrorClientLeaves(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{sessiontest.FailSASL("No", errJSON, 0)}}
	h := serve(t, oauthOpts, auth)
	h.Play("S: * OK IMAP4 ready\r\n", "C: a1 AUTHENTICATE XOAUTH2 "+xoauth2Msg+"\r\n", "S: + "+errJSON+"\r\n")
	h.C.Close()
	if err := h.Ended(nil); errors.Is(err, session.ErrClosed) {
		t.Fatalf("err = %v", err)
	}
}
