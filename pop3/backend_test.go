package pop3

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/backend"
	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

// runBackend plays script against l's hand-over (nginx's when it has
// none) with a proxy_buffer of bufSize (see sessiontest.PlayBackend).
func runBackend(t *testing.T, l *session.Login, bufSize int, script ...string) ([]byte, error) {
	t.Helper()
	h := l.Handover
	if h == nil {
		h = Handover()
	}
	return sessiontest.PlayBackend(t, h, l, bufSize, script...).Strict(t)
}

// TestLoginBackend is SPEC §11.3 and Appendix A.4: raw USER and PASS,
// spaces kept; the reply to PASS is relayed whole.
func TestLoginBackend(t *testing.T) {
	l := &session.Login{User: "bob", Pass: "pass with space "}
	relay, err := runBackend(t, l, 4096,
		"B: +OK backend ready\r\n", "S: USER bob\r\n", "B: +OK\r\n", "S: PASS pass with space \r\n", "B: +OK Logged in.\r\n")
	if err != nil || string(relay) != "+OK Logged in.\r\n" {
		t.Fatalf("%q %v", relay, err)
	}
}

// TestLoginBackendSplitReplies: replies are judged once they end with
// CRLF, however they arrive.
func TestLoginBackendSplitReplies(t *testing.T) {
	l := &session.Login{User: "u", Pass: "p"}
	relay, err := runBackend(t, l, 4096,
		"B: +O", "B: K hi\r", "B: \n", "S: USER u\r\n", "B: +OK\r\n", "S: PASS p\r\n", "B: +OK ", "B: 2 messages\r\n")
	if err != nil || string(relay) != "+OK 2 messages\r\n" {
		t.Fatalf("%q %v", relay, err)
	}
}

// TestLoginBackendRejections: a reply not starting with "+OK" fails with
// the reply (for proxy_pass_error_message) and its text (SPEC §11.6).
func TestLoginBackendRejections(t *testing.T) {
	l := &session.Login{User: "u", Pass: "p"}
	cases := []struct {
		name   string
		script []string
		reply  string
	}{
		{"greeting", []string{"B: -ERR busy\r\n"}, "-ERR busy\r\n"},
		{"user", []string{"B: +OK\r\n", "S: USER u\r\n", "B: -ERR no\r\n"}, "-ERR no\r\n"},
		{"pass", []string{"B: +OK\r\n", "S: USER u\r\n", "B: +OK\r\n", "S: PASS p\r\n", "B: -ERR [IN-USE] mailbox locked\r\n"}, "-ERR [IN-USE] mailbox locked\r\n"},
		{"lowercase-ok", []string{"B: +ok hi\r\n"}, "+ok hi\r\n"},
		{"multi-line", []string{"B: +OK\r\n", "S: USER u\r\n", "B: -ERR a\r\nb\r\n"}, "-ERR a\r\nb\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runBackend(t, l, 4096, tc.script...)
			var be *session.BackendError
			if !errors.As(err, &be) || string(be.Reply) != tc.reply || be.Text != strings.TrimSuffix(tc.reply, "\r\n") {
				t.Fatalf("err = %#v", err)
			}
		})
	}
}

// TestLoginBackendTransportFailures: overlong replies, a closed
// connection and the deadline fail without a reply to pass on.
func TestLoginBackendTransportFailures(t *testing.T) {
	l := &session.Login{User: "u", Pass: "p"}
	_, err := runBackend(t, l, 64, "B: +OK "+strings.Repeat("g", 100)+"\r\n")
	var be *session.BackendError
	if !errors.As(err, &be) || be.Reply != nil || !errors.Is(err, backend.ErrTooLong) {
		t.Fatalf("overlong greeting: %#v", err)
	}

	px, bk := sessiontest.TCPPair(t)
	go func() { io.WriteString(bk, "+OK\r\n"); bk.Close() }()
	_, err = Handover().LoginBackend(px, l, 4096, time.Now().Add(2*time.Second))
	if !errors.As(err, &be) || be.Reply != nil {
		t.Fatalf("closed backend: %#v", err)
	}

	// A backend that never greets, or ends lines with a bare LF, runs
	// into the deadline.
	for _, greet := range []string{"", "+OK bare LF\n"} {
		px, bk := sessiontest.TCPPair(t)
		io.WriteString(bk, greet)
		start := time.Now()
		_, err := Handover().LoginBackend(px, l, 4096, time.Now().Add(300*time.Millisecond))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) > 2*time.Second {
			t.Fatalf("greeting %q: %v", greet, err)
		}
	}
}

// TestLoginBackendRefusesLineBreaks: a password with CR/LF (possible
// through AUTH PLAIN) never reaches the backend, where it would inject a
// command; nginx would send it.
func TestLoginBackendRefusesLineBreaks(t *testing.T) {
	for _, l := range []*session.Login{
		{User: "bob", Pass: "x\r\nDELE 1"},
		{User: "bob\nQUIT", Pass: "p"},
		{User: "bob", Pass: "p\x00"},
	} {
		px, be := sessiontest.TCPPair(t)
		_, err := Handover().LoginBackend(px, l, 4096, time.Now().Add(time.Second))
		if !errors.Is(err, backend.ErrUnsafeArgument) {
			t.Fatalf("%q/%q: err = %v", l.User, l.Pass, err)
		}
		be.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, _ := be.Read(make([]byte, 64)); n != 0 {
			t.Fatalf("%q/%q: the backend received %d bytes", l.User, l.Pass, n)
		}
	}
}
