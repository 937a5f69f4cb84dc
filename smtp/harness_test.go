package smtp

import (
	"testing"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

var ok = sessiontest.OK

type fakeAuth = sessiontest.FakeAuth

// defaults fills the options every test shares unless it says otherwise.
func defaults(o Options) Options {
	if o.MaxErrors == 0 {
		o.MaxErrors = 5
	}
	if o.Auth == nil {
		o.Auth = []string{"plain", "login"}
	}
	if o.ServerName == "" {
		o.ServerName = "mx.example.com"
	}
	return o
}

// serve runs a Server with o (defaults filled in) under the shared
// harness; the client address seen by the front end is 192.0.2.10:1234
// unless tune changes it.
func serve(t *testing.T, o Options, auth *fakeAuth, tune ...func(*session.Conn)) *sessiontest.Harness {
	t.Helper()
	return sessiontest.Serve(t, NewServer(defaults(o)).Serve, auth, tune...)
}

// testLogin is a login with its SMTP envelope spelled out.
type testLogin struct {
	*session.Login
	Envelope
}

// loginOf waits for Serve to return a login and opens its envelope.
func loginOf(t *testing.T, h *sessiontest.Harness) testLogin {
	t.Helper()
	l := h.Login()
	return testLogin{l, l.Handover.(*handover).e}
}

// fail is a refusal with an Auth-Error-Code (SMTP only).
func fail(text, code string, wait time.Duration) *authhttp.Response {
	return &authhttp.Response{Status: authhttp.StatusFail, Text: text, ErrorCode: code, Wait: wait}
}

const greeting = "S: 220 mx.example.com ESMTP ready\r\n"
