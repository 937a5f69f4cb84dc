package pop3

import (
	"testing"

	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

var (
	ok   = sessiontest.OK
	fail = sessiontest.Fail
)

type fakeAuth = sessiontest.FakeAuth

// serve runs a Server with o (defaults filled in as nginx's) under the
// shared harness; tweak may adjust the session.Conn before Serve starts.
func serve(t *testing.T, o Options, auth *fakeAuth, tweak ...func(*session.Conn)) *sessiontest.Harness {
	t.Helper()
	if o.MaxErrors == 0 {
		o.MaxErrors = 5
	}
	if o.Capabilities == nil {
		o.Capabilities = []string{"TOP", "USER", "UIDL"}
	}
	if o.Auth == nil {
		o.Auth = []string{"plain"}
	}
	if o.ServerName == "" {
		o.ServerName = "mx.example.com"
	}
	return sessiontest.Serve(t, NewServer(o).Serve, auth, tweak...)
}
