package imap

import (
	"errors"
	"testing"

	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

// The backend STARTTLS step (proxy_ssl starttls): STARTTLS under the
// client's tag right after the greeting, the LOGIN only over TLS, and no
// credential ever sent when TLS does not come up.

func TestLoginBackendStartTLS(t *testing.T) {
	l := &session.Login{Handover: Handover("a2"), User: "alice", Pass: "s3cret", StartTLS: sessiontest.StartTLSHook}
	run := sessiontest.PlayBackend(t, l.Handover, l, 4096,
		"B: * OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n", "S: a2 STARTTLS\r\n", "B: a2 OK Begin TLS\r\n",
		"TLS", "S: a2 LOGIN {5}\r\n", "B: + go\r\n", "S: alice {6}\r\n", "B: + go\r\n", "S: s3cret\r\n",
		"B: a2 OK Logged in\r\n")
	if run.Err != nil || string(run.Relay) != "a2 OK Logged in\r\n" || !run.TLS {
		t.Fatalf("%q %v (TLS %v)", run.Relay, run.Err, run.TLS)
	}
	if string(run.Sent) != "a2 STARTTLS\r\na2 LOGIN {5}\r\nalice {6}\r\ns3cret\r\n" {
		t.Errorf("sent %q", run.Sent)
	}
}

func TestLoginBackendStartTLSRefused(t *testing.T) {
	cases := []struct {
		name   string
		script []string
		noTLS  bool // ErrNoStartTLS (else the hook's error)
	}{
		{"refused", []string{"B: * OK ready\r\n", "S: a STARTTLS\r\n", "B: a BAD unknown command\r\n"}, true},
		{"untagged first", []string{"B: * OK ready\r\n", "S: a STARTTLS\r\n", "B: * CAPABILITY IMAP4rev1\r\na OK\r\n"}, true},
		{"injected after OK", []string{"B: * OK ready\r\n", "S: a STARTTLS\r\n", "B: a OK Begin TLS\r\n* injected\r\n"}, true},
		{"handshake fails", []string{"B: * OK ready\r\n", "S: a STARTTLS\r\n", "B: a OK Begin TLS\r\n", "CLOSE"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := &session.Login{Handover: Handover("a"), User: "alice", Pass: "s3cret", StartTLS: sessiontest.StartTLSHook}
			run := sessiontest.PlayBackend(t, l.Handover, l, 4096, tc.script...)
			var be *session.BackendError
			if !errors.As(run.Err, &be) || be.Reply != nil || errors.Is(run.Err, session.ErrNoStartTLS) != tc.noTLS {
				t.Fatalf("err %v, want a BackendError without reply (ErrNoStartTLS %v)", run.Err, tc.noTLS)
			}
			run.NoCredentials(t, "alice", "s3cret", "LOGIN")
		})
	}
}

// FuzzBackendStartTLS: whatever an IMAP backend answers, with TLS asked
// for and never coming up, no credential is sent.
func FuzzBackendStartTLS(f *testing.F) {
	for _, s := range []string{
		"* OK ready\r\na OK Begin TLS\r\n", "* OK ready\r\na BAD no\r\n", "* OK\r\na OK\r\n* x\r\n",
		"* OK ready\r\n+ go\r\n+ go\r\na OK\r\n", "* PREAUTH\r\n", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		l := &session.Login{Handover: Handover("a"), User: "alice-u", Pass: "s3cret-pw"}
		sessiontest.FuzzStartTLS(t, l, in, "alice-u", "s3cret-pw")
	})
}
