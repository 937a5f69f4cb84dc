package pop3

import (
	"errors"
	"testing"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

// TestSTLS: STLS answers +OK, discards pipelined plaintext, hands the
// running pre-auth deadline to the handshake, sends no new greeting, and
// afterwards CAPA has no STLS and STLS is refused; the greeting's salt
// stays valid for APOP (SPEC §8.2).
func TestSTLS(t *testing.T) {
	deadlines := make(chan time.Time, 1)
	resp := ok("127.0.0.1:110")
	resp.Pass, resp.HasPass = "realpw", true
	auth := &fakeAuth{Answers: []*authhttp.Response{resp}}
	o := Options{Auth: []string{"plain", "apop", "cram-md5", "external"}, StartTLS: session.StartTLSOn}
	start := time.Now()
	e := serve(t, o, auth, sessiontest.WithTLS(t, deadlines))
	salt := greetingSalt(t, e)
	time.Sleep(300 * time.Millisecond) // STLS does not re-arm the deadline
	e.Play("C: STLS\r\nUSER evil\r\n", "S: +OK\r\n")
	if d := (<-deadlines).Sub(start); d < 4*time.Second || d > 5*time.Second+200*time.Millisecond {
		t.Fatalf("handshake deadline %v after the greeting, want the pre-auth deadline", d)
	}
	e.ClientTLS()
	e.Play(
		"C: CAPA\r\n", "S: +OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nSASL PLAIN LOGIN CRAM-MD5 EXTERNAL\r\n.\r\n",
		"C: PASS x\r\n", "S: -ERR invalid command\r\n", // the plaintext USER never ran
		"C: STLS\r\n", "S: -ERR invalid command\r\n",
		"C: APOP bob c4c9334bac560ecc979e58001b3e22fb\r\n",
	)
	l := e.Login()
	q := auth.Requests()[0]
	if q.Method != "apop" || q.Salt != salt || l.Pass != "realpw" || l.User != "bob" {
		t.Fatalf("request %+v login %+v", q, l)
	}
}

// TestSTLSOnly: under starttls only, the session is usable after STLS.
func TestSTLSOnly(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:110")}}
	e := serve(t, Options{StartTLS: session.StartTLSOnly}, auth, sessiontest.WithTLS(t, make(chan time.Time, 1)))
	e.Play("S: +OK POP3 ready\r\n", "C: stls\r\n", "S: +OK\r\n")
	e.ClientTLS()
	e.Play(
		"C: CAPA\r\n", "S: +OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nSASL PLAIN LOGIN\r\n.\r\n",
		"C: AUTH\r\n", "S: +OK methods supported:\r\nPLAIN\r\nLOGIN\r\n.\r\n",
		"C: USER u\r\n", "S: +OK\r\n", "C: PASS p\r\n",
	)
	if l := e.Login(); l.User != "u" || l.Pass != "p" {
		t.Fatalf("login %+v", l)
	}
}

// TestSTLSHandshakeFailure: a failed handshake ends the session.
func TestSTLSHandshakeFailure(t *testing.T) {
	refuse := func(sc *session.Conn) {
		sc.StartTLS = func(time.Time) error { return errors.New("handshake refused in test") }
	}
	e := serve(t, Options{StartTLS: session.StartTLSOn}, &fakeAuth{}, refuse)
	e.Play("S: +OK POP3 ready\r\n", "C: STLS\r\n", "S: +OK\r\n")
	if res := e.Result(); res.Err == nil {
		t.Fatal("no error after a failed handshake")
	}
}
