package sieve

import (
	"errors"
	"testing"

	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

const dovecotCaps = "\"IMPLEMENTATION\" \"Dovecot Pigeonhole\"\r\n\"SIEVE\" \"fileinto\"\r\n"

func TestLoginBackendStartTLS(t *testing.T) {
	l := &session.Login{Handover: Handover(), User: "alice", Pass: "s3cret", StartTLS: sessiontest.StartTLSHook}
	run := sessiontest.PlayBackend(t, l.Handover, l, 4096,
		"B: "+dovecotCaps+"\"STARTTLS\"\r\n\"VERSION\" \"1.0\"\r\nOK \"ready\"\r\n", "S: STARTTLS\r\n", "B: OK \"Begin TLS\"\r\n", "TLS",
		// The capabilities again over TLS (RFC 5804 §2.2), without STARTTLS.
		"B: "+dovecotCaps+"\"SASL\" \"PLAIN\"\r\nOK \"TLS done\"\r\n",
		"S: AUTHENTICATE \"PLAIN\" \"AGFsaWNlAHMzY3JldA==\"\r\n", "B: OK \"Logged in.\"\r\n")
	if run.Err != nil || string(run.Relay) != "OK \"Logged in.\"\r\n" || !run.TLS {
		t.Fatalf("%q %v", run.Relay, run.Err)
	}
}

func TestLoginBackendStartTLSNotOffered(t *testing.T) {
	l := &session.Login{Handover: Handover(), User: "alice", Pass: "s3cret", StartTLS: sessiontest.StartTLSHook}
	run := sessiontest.PlayBackend(t, l.Handover, l, 4096, "B: "+dovecotCaps+"OK \"ready\"\r\n")
	if !errors.Is(run.Err, session.ErrNoStartTLS) {
		t.Fatalf("err %v, want ErrNoStartTLS", run.Err)
	}
	run.NoCredentials(t, "AUTHENTICATE", "AGFsaWNlAHMzY3JldA==")
}

// FuzzBackendStartTLS: whatever a ManageSieve backend answers, with TLS
// asked for and never coming up, no credential is sent.
func FuzzBackendStartTLS(f *testing.F) {
	for _, s := range []string{
		dovecotCaps + "\"STARTTLS\"\r\nOK\r\nOK \"go\"\r\n", dovecotCaps + "OK\r\n", "\"STARTTLS\"\r\nOK\r\nNO\r\n", "BYE\r\n", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		l := &session.Login{Handover: Handover(), User: "alice-u", Pass: "s3cret-pw"}
		// AUTHENTICATE "PLAIN" carries base64("\0alice-u\0s3cret-pw").
		sessiontest.FuzzStartTLS(t, l, in, "alice-u", "s3cret-pw", "AGFsaWNlLXUAczNjcmV0LXB3", "AUTHENTICATE")
	})
}
