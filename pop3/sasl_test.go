package pop3

import (
	"encoding/base64"
	"testing"

	"mailproxy/authhttp"
)

// TestSASLMechanisms covers the successful exchanges of SPEC §7.
func TestSASLMechanisms(t *testing.T) {
	all := []string{"plain", "apop", "cram-md5", "external"}
	const digest = "0123456789abcdef0123456789abcdef"
	cases := []struct {
		name  string
		auth  []string
		lines []string
		user  string
		pass  string
		meth  string
	}{
		{"plain-ir", nil, []string{"C: AUTH PLAIN AHUAcA==\r\n"}, "u", "p", "plain"},
		{"plain", nil, []string{"C: auth plain\r\n", "S: + \r\n", "C: AHUAcA==\r\n"}, "u", "p", "plain"},
		{"plain-empty-user", nil, []string{"C: AUTH PLAIN AABwYXNz\r\n"}, "", "pass", "plain"},
		{"plain-authzid-dropped", nil, []string{"C: AUTH PLAIN\r\n", "S: + \r\n", "C: YQB1AHAAcQ junk\r\n"}, "u", "p\x00q", "plain"},
		{"plain-disabled-still-accepted", []string{"apop"}, []string{"C: AUTH PLAIN AHUAcA==\r\n"}, "u", "p", "plain"},
		{"login", nil, []string{"C: AUTH LOGIN\r\n", "S: + VXNlcm5hbWU6\r\n", "C: Y2Fyb2w=\r\n", "S: + UGFzc3dvcmQ6\r\n", "C: c2VjcmV0\r\n"}, "carol", "secret", "plain"},
		{"login-ir", nil, []string{"C: AUTH LOGIN dQ==\r\n", "S: + UGFzc3dvcmQ6\r\n", "C: =\r\n"}, "u", "", "plain"},
		{"login-leading-space-empty-user", nil, []string{"C: AUTH LOGIN\r\n", "S: + VXNlcm5hbWU6\r\n", "C:  dQ==\r\n", "S: + UGFzc3dvcmQ6\r\n", "C: cA\r\n"}, "", "p", "plain"},
		{"external", all, []string{"C: AUTH EXTERNAL\r\n", "S: + VXNlcm5hbWU6\r\n", "C: ZXh0\r\n"}, "ext", "", "external"},
		{"external-ir", []string{"external"}, []string{"C: AUTH EXTERNAL ZQ==\r\n"}, "e", "", "external"},
		{"external-empty", []string{"external"}, []string{"C: AUTH EXTERNAL =\r\n"}, "", "", "external"},
		{"cram-md5", all, []string{"C: AUTH CRAM-MD5\r\n", "S* + ", "C: " + base64.StdEncoding.EncodeToString([]byte("bob "+digest)) + "\r\n"}, "bob", digest, "cram-md5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:110")}}
			e := serve(t, Options{Auth: tc.auth}, auth)
			e.Line()
			e.Play(tc.lines...)
			l := e.Login()
			q := auth.Requests()[0]
			if q.User != tc.user || q.Pass != tc.pass || q.Method != tc.meth || l.User != tc.user || l.Pass != tc.pass {
				t.Fatalf("request %+v login %+v", q, l)
			}
			wantSalt := tc.meth == "cram-md5"
			if (q.Salt != "") != wantSalt {
				t.Fatalf("salt %q for %s", q.Salt, tc.meth)
			}
		})
	}
}

// TestCRAMMD5ChallengeIsGreetingSalt: the challenge is the base64 of the
// greeting's salt, and the same salt goes to the auth service.
func TestCRAMMD5ChallengeIsGreetingSalt(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:110")}}
	e := serve(t, Options{Auth: []string{"cram-md5"}}, auth)
	salt := greetingSalt(t, e)
	e.Play("C: AUTH CRAM-MD5\r\n", "S: + "+base64.StdEncoding.EncodeToString([]byte(salt))+"\r\n",
		"C: "+base64.StdEncoding.EncodeToString([]byte("bob 0123456789abcdef0123456789abcdef"))+"\r\n")
	e.Login()
	if q := auth.Requests()[0]; q.Salt != salt {
		t.Fatalf("Auth-Salt %q, greeting salt %q", q.Salt, salt)
	}
}

// TestSASLRefusals: bad exchanges are answered "-ERR invalid command",
// abandon the exchange (back to "start") and are not counted.
func TestSASLRefusals(t *testing.T) {
	all := Options{Auth: []string{"plain", "cram-md5", "external"}, MaxErrors: 1}
	crambad := base64.StdEncoding.EncodeToString([]byte("bob short"))
	cases := []struct {
		name  string
		lines []string
	}{
		{"plain-ir-bad-base64", []string{"C: AUTH PLAIN ####\r\n"}},
		{"plain-bad-base64", []string{"C: AUTH PLAIN\r\n", "S: + \r\n", "C: a\r\n"}},
		{"plain-no-nul", []string{"C: AUTH PLAIN bm9udWw=\r\n"}},
		{"plain-one-nul", []string{"C: AUTH PLAIN YQB1c2Vy\r\n"}},
		{"plain-empty-line", []string{"C: AUTH PLAIN\r\n", "S: + \r\n", "C: \r\n"}},
		{"plain-three-args", []string{"C: AUTH PLAIN AHUAcA== x\r\n"}},
		{"login-cancel-user", []string{"C: AUTH LOGIN\r\n", "S: + VXNlcm5hbWU6\r\n", "C: *\r\n"}},
		{"login-cancel-pass", []string{"C: AUTH LOGIN\r\n", "S: + VXNlcm5hbWU6\r\n", "C: dQ==\r\n", "S: + UGFzc3dvcmQ6\r\n", "C: *\r\n"}},
		{"login-ir-bad", []string{"C: AUTH LOGIN !!\r\n"}},
		{"login-three-args", []string{"C: AUTH LOGIN dQ== cA==\r\n"}},
		{"cram-ir", []string{"C: AUTH CRAM-MD5 eA==\r\n"}},
		{"cram-cancel", []string{"C: AUTH CRAM-MD5\r\n", "S* + ", "C: *\r\n"}},
		{"cram-short-digest", []string{"C: AUTH CRAM-MD5\r\n", "S* + ", "C: " + crambad + "\r\n"}},
		{"external-bad", []string{"C: AUTH EXTERNAL\r\n", "S: + VXNlcm5hbWU6\r\n", "C: *\r\n"}},
		{"external-three-args", []string{"C: AUTH EXTERNAL ZQ== ZQ==\r\n"}},
		{"unknown", []string{"C: AUTH FOO\r\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{}
			e := serve(t, all, auth)
			e.Line()
			e.Play(tc.lines...)
			e.Play("S: -ERR invalid command\r\n")
			e.Play("C: NOOP\r\n", "S: +OK\r\n")
			if len(auth.Requests()) != 0 {
				t.Fatal("refused exchange reached the auth service")
			}
		})
	}
}
