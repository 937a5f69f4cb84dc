package authservice

import (
	"encoding/base64"
	"strings"
	"testing"
)

const tokenUsers = goodUsers + `
token:tok-alice      alice          # her password goes to the backend
token:tok%20bob      bob   forward  # the backend checks his token
`

// oauth is an IMAP XOAUTH2 first attempt (values escaped as sent).
func oauth(user, token string) hdr {
	return login(user, token).with("Auth-Method", "xoauth2")
}

// TestTokens: a token of the file logs its user in, with the user's
// password as Auth-Pass, or for a forward token with
// Auth-Backend-Method; a refused token gets freenginx's Auth-Error-SASL
// challenge besides the usual failure headers.
func TestTokens(t *testing.T) {
	s, logs := newService(t, Options{})
	s.SetUsers(mustParse(t, tokenUsers))

	res := ask(t, s, oauth("alice", "tok-alice"))
	expect(t, res, "OK", "10.0.0.5", "143", "secret", "", "")
	if got := res.Header.Get("Auth-User"); got != "alice" {
		t.Errorf("Auth-User %q", got)
	}
	if _, ok := res.Header["Auth-Backend-Method"]; ok {
		t.Error("Auth-Backend-Method for a password token")
	}
	// XOAUTH2 allows an empty user: the token's user is taken.
	res = ask(t, s, oauth("", "tok-alice").with("Auth-Protocol", "smtp", "Auth-Method", "oauthbearer"))
	expect(t, res, "OK", "10.0.0.6", "25", "secret", "", "")
	if got := res.Header.Get("Auth-User"); got != "alice" {
		t.Errorf("Auth-User %q", got)
	}

	res = ask(t, s, oauth("bob", "tok%20bob").with("Auth-Method", "oauthbearer"))
	expect(t, res, "OK", "2001:db8::7", "143", "", "", "")
	if got := res.Header.Get("Auth-Backend-Method"); got != "oauthbearer" {
		t.Errorf("Auth-Backend-Method %q", got)
	}

	for _, h := range []hdr{
		oauth("alice", "tok-wrong"),
		oauth("bob", "tok-alice"),                                  // another user's token
		oauth("alice", "secret"),                                   // a password is no token
		oauth("alice", "tok-alice").with("Auth-Protocol", "sieve"), // no sieve backend
	} {
		res := ask(t, s, h)
		expect(t, res, TextInvalid, "", "", "", "3", "")
		if got := res.Header.Get("Auth-Error-SASL"); got != ErrorSASL {
			t.Errorf("%v: Auth-Error-SASL %q", h, got)
		}
	}
	js, _ := base64.StdEncoding.DecodeString(ErrorSASL)
	if string(js) != `{"status":"invalid_token","schemes":"bearer","scope":"mail"}` {
		t.Errorf("error JSON %s", js)
	}
	// A token is never a password, and a password failure has no
	// Auth-Error-SASL.
	res = ask(t, s, login("alice", "tok-alice"))
	expect(t, res, TextInvalid, "", "", "", "3", "")
	if _, ok := res.Header["Auth-Error-Sasl"]; ok {
		t.Error("Auth-Error-SASL on a plain failure")
	}
	for _, tok := range []string{"tok-alice", "tok bob"} {
		if strings.Contains(logs.String(), tok) {
			t.Errorf("the log holds token %q:\n%s", tok, logs)
		}
	}
}

func TestParseTokenErrors(t *testing.T) {
	for text, want := range map[string]string{
		"token:t":                            "want token:TOKEN NAME [forward], got 1 field(s)",
		"token: alice":                       "empty token",
		"token:t alice forward extra":        "got 4 field(s)",
		"token:t alice maybe":                `unknown option "maybe"`,
		"token:t%zz alice":                   `token: "%" not followed`,
		"token:t nobody":                     `users:2: token of unknown user "nobody"`,
		"token:t *":                          "cannot log in as the relay entry",
		"token:t alice\ntoken:t bob forward": "token already given on line 2",
	} {
		_, err := ParseUsers(strings.NewReader("alice secret 10.0.0.5:143\n"+text+"\nbob x 10.0.0.5:143\n"), "users")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want …%s…", text, err, want)
		}
	}
}
