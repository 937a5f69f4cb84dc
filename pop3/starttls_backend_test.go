package pop3

import (
	"errors"
	"testing"

	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

func TestLoginBackendSTLS(t *testing.T) {
	l := &session.Login{Handover: Handover(), User: "alice", Pass: "s3cret", StartTLS: sessiontest.StartTLSHook}
	run := sessiontest.PlayBackend(t, l.Handover, l, 4096,
		"B: +OK ready\r\n", "S: STLS\r\n", "B: +OK Begin TLS\r\n", "TLS",
		"S: USER alice\r\n", "B: +OK\r\n", "S: PASS s3cret\r\n", "B: +OK Logged in.\r\n")
	if run.Err != nil || string(run.Relay) != "+OK Logged in.\r\n" || !run.TLS {
		t.Fatalf("%q %v", run.Relay, run.Err)
	}
}

func TestLoginBackendSTLSRefused(t *testing.T) {
	for name, script := range map[string][]string{
		"refused":  {"B: +OK ready\r\n", "S: STLS\r\n", "B: -ERR no TLS here\r\n"},
		"injected": {"B: +OK ready\r\n", "S: STLS\r\n", "B: +OK Begin TLS\r\n+OK injected\r\n"},
	} {
		t.Run(name, func(t *testing.T) {
			l := &session.Login{Handover: Handover(), User: "alice", Pass: "s3cret", StartTLS: sessiontest.StartTLSHook}
			run := sessiontest.PlayBackend(t, l.Handover, l, 4096, script...)
			var be *session.BackendError
			if !errors.Is(run.Err, session.ErrNoStartTLS) || !errors.As(run.Err, &be) || be.Reply != nil {
				t.Fatalf("err %v, want ErrNoStartTLS", run.Err)
			}
			run.NoCredentials(t, "alice", "s3cret", "USER", "PASS")
		})
	}
}

// TestLoginBackendGreetingRefusal marks a refusal in the greeting, which
// allows failover: nothing of the login was sent.
func TestLoginBackendGreetingRefusal(t *testing.T) {
	run := sessiontest.PlayBackend(t, Handover(), &session.Login{Handover: Handover(), User: "u", Pass: "p"}, 4096, "B: -ERR busy\r\n")
	var be *session.BackendError
	if !errors.As(run.Err, &be) || !be.Greeting {
		t.Fatalf("%v: not a greeting refusal", run.Err)
	}
	run = sessiontest.PlayBackend(t, Handover(), &session.Login{Handover: Handover(), User: "u", Pass: "p"}, 4096,
		"B: +OK\r\n", "S: USER u\r\n", "B: -ERR no\r\n")
	if !errors.As(run.Err, &be) || be.Greeting {
		t.Fatalf("%v: a refusal of USER marked as the greeting's", run.Err)
	}
}

// FuzzBackendStartTLS: whatever a POP3 backend answers, with TLS asked
// for and never coming up, no credential is sent.
func FuzzBackendStartTLS(f *testing.F) {
	for _, s := range []string{"+OK ready\r\n+OK go\r\n", "+OK\r\n-ERR no\r\n", "+OK\r\n+OK\r\n+OK\r\n+OK\r\n", "-ERR\r\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		l := &session.Login{Handover: Handover(), User: "alice-u", Pass: "s3cret-pw"}
		sessiontest.FuzzStartTLS(t, l, in, "alice-u", "s3cret-pw")
	})
}
