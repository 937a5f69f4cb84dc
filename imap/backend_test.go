package imap

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

func netipMust(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// runBackend plays script against l's backend login (see
// sessiontest.PlayBackend).
func runBackend(t *testing.T, l *session.Login, script ...string) ([]byte, error) {
	t.Helper()
	return sessiontest.PlayBackend(t, l.Handover, l, 4096, script...).Strict(t)
}

func TestLoginBackend(t *testing.T) {
	l := &session.Login{Handover: Handover("a2"), User: "alice", Pass: `s3c"ret`}
	relay, err := runBackend(t, l,
		"B: * OK ready\r\n", "S: a2 LOGIN {5}\r\n", "B: + go\r\n", "S: alice {7}\r\n", "B: + go\r\n",
		"S: s3c\"ret\r\n", "B: a2 OK [CAPABILITY IMAP4rev1] Logged in\r\n")
	if err != nil || string(relay) != "a2 OK [CAPABILITY IMAP4rev1] Logged in\r\n" {
		t.Fatalf("%q %v", relay, err)
	}
}

func TestLoginBackendUntaggedLine(t *testing.T) {
	l := &session.Login{Handover: Handover("a"), User: "u", Pass: "p"}
	relay, err := runBackend(t, l,
		"B: * OK ready\r\n", "S: a LOGIN {1}\r\n", "B: + go\r\n", "S: u {1}\r\n", "B: + go\r\n", "S: p\r\n",
		"B: * CAPABILITY IMAP4rev1\r\n", "B: a OK done\r\n")
	if err != nil || string(relay) != "* CAPABILITY IMAP4rev1\r\na OK done\r\n" {
		t.Fatalf("%q %v", relay, err)
	}
}

func TestLoginBackendFailures(t *testing.T) {
	l := &session.Login{Handover: Handover("a"), User: "u", Pass: "p"}
	cases := []struct {
		name   string
		script []string
		text   string
		reply  bool
	}{
		{"preauth-greeting", []string{"B: * PREAUTH hi\r\n"}, "* PREAUTH hi", true},
		{"bye-greeting", []string{"B: * BYE no\r\n"}, "* BYE no", true},
		{"rejects", []string{"B: * OK\r\n", "S: a LOGIN {1}\r\n", "B: + go\r\n", "S: u {1}\r\n", "B: + go\r\n", "S: p\r\n", "B: a NO [AUTHENTICATIONFAILED] bad\r\n"}, "NO [AUTHENTICATIONFAILED] bad", true},
		{"lowercase-ok", []string{"B: * OK\r\n", "S: a LOGIN {1}\r\n", "B: + go\r\n", "S: u {1}\r\n", "B: + go\r\n", "S: p\r\n", "B: a ok done\r\n"}, "ok done", true},
		{"no-continuation", []string{"B: * OK\r\n", "S: a LOGIN {1}\r\n", "B: a NO literal\r\n"}, "a NO literal", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runBackend(t, l, tc.script...)
			var be *session.BackendError
			if !errors.As(err, &be) || be.Text != tc.text || (be.Reply != nil) != tc.reply {
				t.Fatalf("err = %#v", err)
			}
		})
	}
	// A backend that never greets runs into the deadline.
	px, _ := sessiontest.TCPPair(t)
	start := time.Now()
	_, err := l.Handover.LoginBackend(px, l, 4096, time.Now().Add(300*time.Millisecond))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) > 2*time.Second {
		t.Fatalf("silent backend: %v", err)
	}
}
