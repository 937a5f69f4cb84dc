package smtp

import (
	"errors"
	"net/netip"
	"testing"

	"mailproxy/authhttp"
	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

// The backend STARTTLS step: EHLO, STARTTLS, then EHLO again over TLS
// and only then XCLIENT (which carries the login) and the client's HELO.
func TestLoginBackendStartTLS(t *testing.T) {
	s := NewServer(Options{ServerName: "proxy.test", XClient: true})
	e := Envelope{Helo: "client.test", ESMTP: true, Method: authhttp.MethodPlain, Client: netip.MustParseAddrPort("192.0.2.7:5000"), ClientHost: "client.test"}
	l := &session.Login{Handover: s.Handover(e), User: "alice", Pass: "s3cret", StartTLS: sessiontest.StartTLSHook}
	run := sessiontest.PlayBackend(t, l.Handover, l, 4096,
		"B: 220 mx ESMTP\r\n", "S: EHLO proxy.test\r\n", "B: 250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n",
		"S: STARTTLS\r\n", "B: 220 2.0.0 Ready to start TLS\r\n", "TLS",
		"S: EHLO proxy.test\r\n", "B: 250-mx\r\n250 XCLIENT ADDR LOGIN NAME\r\n",
		"S: XCLIENT ADDR=192.0.2.7 LOGIN=alice NAME=client.test\r\n", "B: 220 mx ESMTP\r\n",
		"S: EHLO client.test\r\n", "B: 250 mx\r\n")
	if run.Err != nil || string(run.Relay) != "235 2.0.0 OK\r\n" || !run.TLS {
		t.Fatalf("%q %v (TLS %v)", run.Relay, run.Err, run.TLS)
	}
}

// With xclient off and a client that said HELO, the first greeting is
// still EHLO (STARTTLS needs ESMTP); after TLS nginx's HELO follows.
func TestLoginBackendStartTLSHelo(t *testing.T) {
	s := NewServer(Options{ServerName: "proxy.test", ProxySMTPAuth: true})
	e := Envelope{Helo: "client.test", Method: authhttp.MethodPlain}
	l := &session.Login{Handover: s.Handover(e), User: "alice", Pass: "s3cret", StartTLS: sessiontest.StartTLSHook}
	run := sessiontest.PlayBackend(t, l.Handover, l, 4096,
		"B: 220 mx ESMTP\r\n", "S: EHLO proxy.test\r\n", "B: 250-mx\r\n250 STARTTLS\r\n",
		"S: STARTTLS\r\n", "B: 220 go ahead\r\n", "TLS",
		"S: HELO proxy.test\r\n", "B: 250 mx\r\n",
		"S: AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n", "B: 235 2.7.0 Authentication successful\r\n")
	if run.Err != nil || string(run.Relay) != "235 2.0.0 OK\r\n" {
		t.Fatalf("%q %v", run.Relay, run.Err)
	}
}

func TestLoginBackendStartTLSRefused(t *testing.T) {
	cases := map[string][]string{
		"not offered": {"B: 220 mx\r\n", "S: EHLO proxy.test\r\n", "B: 250-mx\r\n250 PIPELINING\r\n"},
		"refused":     {"B: 220 mx\r\n", "S: EHLO proxy.test\r\n", "B: 250-mx\r\n250 STARTTLS\r\n", "S: STARTTLS\r\n", "B: 454 4.7.0 TLS not available\r\n"},
		"injected":    {"B: 220 mx\r\n", "S: EHLO proxy.test\r\n", "B: 250-mx\r\n250 STARTTLS\r\n", "S: STARTTLS\r\n", "B: 220 go\r\n250 injected\r\n"},
	}
	for name, script := range cases {
		t.Run(name, func(t *testing.T) {
			s := NewServer(Options{ServerName: "proxy.test", XClient: true, ProxySMTPAuth: true})
			e := Envelope{Method: authhttp.MethodPlain, Client: netip.MustParseAddrPort("192.0.2.7:5000")}
			l := &session.Login{Handover: s.Handover(e), User: "alice", Pass: "s3cret", StartTLS: sessiontest.StartTLSHook}
			run := sessiontest.PlayBackend(t, l.Handover, l, 4096, script...)
			var be *session.BackendError
			if !errors.Is(run.Err, session.ErrNoStartTLS) || !errors.As(run.Err, &be) || be.Reply != nil {
				t.Fatalf("err %v, want ErrNoStartTLS", run.Err)
			}
			run.NoCredentials(t, "alice", "AGFsaWNlAHMzY3JldA==", "XCLIENT", "AUTH")
		})
	}
}

func TestHasExtension(t *testing.T) {
	reply := []byte("250-mx.example\r\n250-starttls\r\n250-SIZE 100\r\n250 8BITMIME\r\n")
	if !hasExtension(reply, "STARTTLS") || !hasExtension(reply, "SIZE") || hasExtension(reply, "mx.example.") || hasExtension(reply, "XCLIENT") {
		t.Error("hasExtension")
	}
}

// FuzzBackendStartTLS: whatever an SMTP backend answers, with TLS asked
// for and never coming up, neither XCLIENT (with the login) nor AUTH is
// sent.
func FuzzBackendStartTLS(f *testing.F) {
	for _, s := range []string{
		"220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go\r\n", "220 mx\r\n250 mx\r\n", "220 mx\r\n250-mx\r\n250 STARTTLS\r\n454 no\r\n",
		"220 mx\r\n250-mx\r\n250 starttls\r\n220 go\r\n250 x\r\n", "554 no\r\n", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s := NewServer(Options{ServerName: "proxy.test", XClient: true, ProxySMTPAuth: true})
		e := Envelope{Helo: "client.test", ESMTP: true, Method: authhttp.MethodPlain, Client: netip.MustParseAddrPort("192.0.2.7:5000")}
		l := &session.Login{Handover: s.Handover(e), User: "alice-u", Pass: "s3cret-pw"}
		sessiontest.FuzzStartTLS(t, l, in, "alice-u", "s3cret-pw", "XCLIENT", "AUTH", "AGFsaWNlLXUAczNjcmV0LXB3")
	})
}
