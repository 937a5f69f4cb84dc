package sasl

import (
	"bytes"
	"reflect"
	"testing"
)

// TestParseXOAUTH2 follows freenginx's ngx_mail_auth_xoauth2 case by case.
func TestParseXOAUTH2(t *testing.T) {
	cases := []struct {
		in          string
		user, token string
		err         error
	}{
		{"user=alice@example.com\x01auth=Bearer ya29.token\x01\x01", "alice@example.com", "ya29.token", nil},
		{"USER=alice\x01AUTH=bearer tok\x01\x01", "alice", "tok", nil}, // prefixes ignore case
		{"user=\x01auth=Bearer tok\x01\x01", "", "tok", nil},           // an empty user is freenginx's too
		{"user=a\x01auth=Bearer \x01\x01", "a", "", nil},               // and an empty token
		{"user=a\x01auth=Bearer t\x01k\x01\x01", "a", "t\x01k", nil},   // everything up to the last ^A^A
		{"user=a b\x00c\x01auth=Bearer t\x01\x01", "a b\x00c", "t", nil},
		{"", "", "", ErrXOAUTH2Login},
		{"user=alice", "", "", ErrXOAUTH2Login}, // no ^A
		{"usr=alice\x01auth=Bearer t\x01\x01", "", "", ErrXOAUTH2Login},
		{"user\x01auth=Bearer t\x01\x01", "", "", ErrXOAUTH2Login},
		{"user=a\x01auth=Basic t\x01\x01", "", "", ErrXOAUTH2Token},
		{"user=a\x01auth=Bearer t\x01", "", "", ErrXOAUTH2Token},
		{"user=a\x01auth=Bearer t", "", "", ErrXOAUTH2Token},
		{"user=a\x01auth=Bearer \x01", "", "", ErrXOAUTH2Token},
		{"user=a\x01", "", "", ErrXOAUTH2Token},
	}
	for _, c := range cases {
		user, token, err := ParseXOAUTH2([]byte(c.in))
		if err != c.err || user != c.user || token != c.token {
			t.Errorf("ParseXOAUTH2(%q) = %q, %q, %v; want %q, %q, %v", c.in, user, token, err, c.user, c.token, c.err)
		}
	}
}

// TestParseOAuthBearer follows freenginx's ngx_mail_auth_oauthbearer case
// by case: RFC 7628's examples, then its quirks.
func TestParseOAuthBearer(t *testing.T) {
	cases := []struct {
		in          string
		user, token string
		err         error
	}{
		// RFC 7628 §4.1 and what curl sends.
		{"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01",
			"user@example.com", "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", nil},
		{"n,a=alice,\x01auth=Bearer tok\x01\x01", "alice", "tok", nil},
		{"y,A=alice,\x01AUTH=BEARER tok\x01\x01", "alice", "tok", nil},
		{"n,a=a=2Cb=3dc,\x01auth=Bearer t\x01\x01", "a,b=c", "t", nil},
		{"p=tls-unique,a=alice,\x01auth=Bearer t\x01\x01", "alice", "t", nil},
		{"n,x=1,a=alice,\x01auth=Bearer t\x01", "alice", "t", nil},                  // the token's ^A suffices
		{"n,a=alice,\x01auth=Bearer t\x01auth=Bearer u\x01\x01", "alice", "t", nil}, // the first one
		{"n,a=alice,\x01auth=Bearer t k\x01\x01", "alice", "t k", nil},
		{"a=alice,n,\x01auth=Bearer t\x01\x01", "", "", ErrOAuthBearerLogin}, // the first field never names the user
		{"n,,\x01auth=Bearer t\x01\x01", "", "", ErrOAuthBearerLogin},        // RFC 7628 allows no authzid; freenginx does not
		{"n,a=,\x01auth=Bearer t\x01\x01", "", "", ErrOAuthBearerLogin},
		{"n,a=alice\x01,auth=Bearer t\x01\x01", "", "", ErrOAuthBearerLogin}, // ^A before the comma
		{"n,a=alice", "", "", ErrOAuthBearerLogin},
		{"", "", "", ErrOAuthBearerLogin},
		{"n,a=al=2Xice,\x01auth=Bearer t\x01\x01", "", "", ErrOAuthBearerLogin},
		{"n,a=alice=,\x01auth=Bearer t\x01\x01", "", "", ErrOAuthBearerLogin},
		{"n,a=alice=2,\x01auth=Bearer t\x01\x01", "", "", ErrOAuthBearerLogin},
		{"n,a=alice,\x01auth=Bearer \x01\x01", "", "", ErrOAuthBearerToken}, // an empty token
		{"n,a=alice,\x01auth=Bearer t", "", "", ErrOAuthBearerToken},        // no ^A after it
		{"n,a=alice,auth=Bearer t\x01\x01", "", "", ErrOAuthBearerToken},    // inside the GS2 header
		{"n,a=alice,\x01auth=Basic t\x01\x01", "", "", ErrOAuthBearerToken},
	}
	for _, c := range cases {
		user, token, err := ParseOAuthBearer([]byte(c.in))
		if err != c.err || user != c.user || token != c.token {
			t.Errorf("ParseOAuthBearer(%q) = %q, %q, %v; want %q, %q, %v", c.in, user, token, err, c.user, c.token, c.err)
		}
	}
}

// TestOAuthMessages: what the backend login sends parses back to the same
// user and token.
func TestOAuthMessages(t *testing.T) {
	for _, user := range []string{"alice", "a,b=c@example.com", ""} {
		u, tok, err := ParseXOAUTH2(XOAUTH2Message(user, "tok.1"))
		if err != nil || u != user || tok != "tok.1" {
			t.Errorf("XOAUTH2 %q: %q %q %v", user, u, tok, err)
		}
		if user == "" {
			continue
		}
		u, tok, err = ParseOAuthBearer(OAuthBearerMessage(user, "tok.1"))
		if err != nil || u != user || tok != "tok.1" {
			t.Errorf("OAUTHBEARER %q: %q %q %v", user, u, tok, err)
		}
	}
	if got := string(OAuthBearerMessage("a,b=c", "t")); got != "n,a=a=2Cb=3Dc,\x01auth=Bearer t\x01\x01" {
		t.Errorf("OAuthBearerMessage = %q", got)
	}
}

// TestOAuthExchange drives both mechanisms through Start and Respond, and
// the error dialogue through AfterError.
func TestOAuthExchange(t *testing.T) {
	m := Enabled([]string{"plain", "xoauth2", "oauthbearer"})
	xo := Encode([]byte("user=alice\x01auth=Bearer tok\x01\x01"))
	ob := Encode([]byte("n,a=alice,\x01auth=Bearer tok\x01\x01"))

	_, st := Start(m, []byte("xoauth2"), []byte(xo), true, nil)
	check(t, "xoauth2 ir", st, done(MethodXOAUTH2, "alice", "tok", ""))
	e, st := Start(m, []byte("XOAUTH2"), nil, false, nil)
	check(t, "xoauth2 challenge", st, Step{})
	check(t, "xoauth2 response", e.Respond([]byte(xo)), done(MethodXOAUTH2, "alice", "tok", ""))
	_, st = Start(m, []byte("OAUTHBEARER"), []byte(ob), true, nil)
	check(t, "oauthbearer ir", st, done(MethodOAuthBearer, "alice", "tok", ""))
	e, _ = Start(m, []byte("oauthbearer"), nil, false, nil)
	check(t, "oauthbearer response", e.Respond([]byte(ob)), done(MethodOAuthBearer, "alice", "tok", ""))
	check(t, "bad base64", e.Respond([]byte("*")), Step{Err: &DecodeError{Mech: OAuthBearer, Challenged: true}})
	_, st = Start(m, []byte("XOAUTH2"), []byte(Encode([]byte("user=a"))), true, nil)
	check(t, "bad message", st, Step{Err: ErrXOAUTH2Login})

	for _, mech := range []string{"XOAUTH2", "OAUTHBEARER"} {
		_, st := Start(Enabled([]string{"plain"}), []byte(mech), []byte(xo), true, nil)
		check(t, mech+" not enabled", st, Step{Err: ErrMechanism})
	}

	acks := []struct {
		method, token string
		more          bool
		want          Step
	}{
		{MethodXOAUTH2, "", false, Step{Ack: true}},
		{MethodXOAUTH2, "", true, Step{Err: ErrErrorAck}},
		{MethodXOAUTH2, "AQ==", false, Step{Err: ErrErrorAck}},
		{MethodOAuthBearer, "AQ==", false, Step{Ack: true}},
		{MethodOAuthBearer, "AQ==xyz", false, Step{Ack: true}}, // freenginx compares four bytes
		{MethodOAuthBearer, "AQ=", false, Step{Err: ErrErrorAck}},
		{MethodOAuthBearer, "", false, Step{Err: ErrErrorAck}},
		{MethodOAuthBearer, "*", false, Step{Err: ErrErrorAck}},
		{MethodOAuthBearer, "AQ==", true, Step{Err: ErrErrorAck}},
	}
	for _, a := range acks {
		e := AfterError(a.method)
		check(t, a.method+" ack "+a.token, e.RespondLine([]byte(a.token), a.more), a.want)
	}
	for _, method := range []string{MethodPlain, MethodCRAMMD5, MethodExternal, "none"} {
		if e := AfterError(method); e != nil {
			t.Errorf("AfterError(%q) = %v, want nil", method, e.Mechanism())
		}
	}
}

// TestOAuthNames: both are listed after EXTERNAL, as in freenginx.
func TestOAuthNames(t *testing.T) {
	got := Enabled([]string{"oauthbearer", "xoauth2", "external", "plain", "sasl-ir"}).Names()
	if want := []string{Plain, External, XOAUTH2, OAuthBearer}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func FuzzParseOAuth(f *testing.F) {
	f.Add([]byte("n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"))
	f.Add([]byte("user=alice@example.com\x01auth=Bearer ya29.token\x01\x01"))
	f.Add([]byte("n,a=a=2Cb=3dc,\x01auth=Bearer t\x01\x01"))
	f.Add([]byte("n,a=alice=,\x01auth=Bearer t\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if user, token, err := ParseXOAUTH2(b); err == nil {
			// The message rebuilt from what was taken parses the same
			// (the user cannot hold ^A: it ends at the first one).
			u, tok, err := ParseXOAUTH2(XOAUTH2Message(user, token))
			if err != nil || u != user || tok != token {
				t.Fatalf("XOAUTH2 %q: %q %q → %q %q %v", b, user, token, u, tok, err)
			}
			if bytes.IndexByte([]byte(user), 1) >= 0 {
				t.Fatalf("user %q holds ^A", user)
			}
		}
		if user, token, err := ParseOAuthBearer(b); err == nil {
			if user == "" || token == "" {
				t.Fatalf("OAUTHBEARER %q: empty user %q or token %q", b, user, token)
			}
			if bytes.IndexByte([]byte(token), 1) < 0 && bytes.IndexByte([]byte(user), 1) < 0 {
				u, tok, err := ParseOAuthBearer(OAuthBearerMessage(user, token))
				if err != nil || u != user || tok != token {
					t.Fatalf("OAUTHBEARER %q: %q %q → %q %q %v", b, user, token, u, tok, err)
				}
			}
		}
	})
}
