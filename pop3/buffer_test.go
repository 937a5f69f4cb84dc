package pop3

import (
	"strings"
	"testing"

	"mailproxy/authhttp"
	"mailproxy/internal/session"
)

// TestCommandBuffer: a line fits when it is at most 128 bytes with its
// CRLF; a longer one gets "-ERR invalid command" and a close, whatever it
// contains, and is not counted for max_errors (SPEC §3.3).
func TestCommandBuffer(t *testing.T) {
	// 128 bytes exactly: a PASS argument of 121 bytes.
	pass := strings.Repeat("p", 121)
	auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:110")}}
	e := serve(t, Options{}, auth)
	e.Play("S: +OK POP3 ready\r\n", "C: USER u\r\n", "S: +OK\r\n", "C: PASS "+pass+"\r\n")
	if l := e.Login(); l.Pass != pass {
		t.Fatalf("password %q", l.Pass)
	}

	for _, line := range []string{
		"PASS " + strings.Repeat("p", 122) + "\r\n",       // 129 bytes
		"AUTH PLAIN " + strings.Repeat("A", 140) + "\r\n", // SPEC §3.3's example
		strings.Repeat("X", 200) + "\r\n",                 // a bad line that does not fit
		strings.Repeat("N", 130),                          // no line end at all
	} {
		e := serve(t, Options{MaxErrors: 100}, &fakeAuth{})
		e.Play("S: +OK POP3 ready\r\n", "C: USER u\r\n", "S: +OK\r\n", "C: "+line, "S: -ERR invalid command\r\n")
		e.CloseWith(session.ErrTooLong)
	}
}

// TestRewindOnlyWhenEmpty: pipelined bytes not yet consumed count against
// the 128 bytes, so 22 pipelined NOOPs (132 bytes) overflow once the
// first 21 are answered (SPEC §3.3).
func TestRewindOnlyWhenEmpty(t *testing.T) {
	e := serve(t, Options{}, &fakeAuth{})
	e.Play("S: +OK POP3 ready\r\n", "C: "+strings.Repeat("NOOP\r\n", 22))
	e.Play("S: " + strings.Repeat("+OK\r\n", 21) + "-ERR invalid command\r\n")
	e.CloseWith(session.ErrTooLong)

	// Consumed bytes free the buffer: many short batches never overflow.
	e = serve(t, Options{}, &fakeAuth{})
	e.Play("S: +OK POP3 ready\r\n")
	for range 10 {
		e.Play("C: "+strings.Repeat("NOOP\r\n", 20), "S: "+strings.Repeat("+OK\r\n", 20))
	}
}

// TestPipelining: commands sent in one packet are answered in order, and
// the bytes after the authenticating command are handed over (SPEC §3.2).
func TestPipelining(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:110")}}
	e := serve(t, Options{}, auth)
	e.Play("S: +OK POP3 ready\r\n", "C: NOOP\r\nCAPA\r\nUSER u\r\nPASS p\r\nSTAT\r\nQUIT\r\n",
		"S: +OK\r\n+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nSASL PLAIN LOGIN\r\n.\r\n+OK\r\n")
	if l := e.Login(); string(l.Pipelined) != "STAT\r\nQUIT\r\n" || l.User != "u" || l.Pass != "p" {
		t.Fatalf("login %+v", l)
	}
}

// TestMaxErrors: only parser errors count; the Nth still gets its reply,
// then the session ends (SPEC §3.5).
func TestMaxErrors(t *testing.T) {
	e := serve(t, Options{}, &fakeAuth{})
	e.Play("S: +OK POP3 ready\r\n")
	for range 4 {
		e.Play("C: STAT\r\n", "S: -ERR invalid command\r\n")
		e.Play("C: PASS x\r\n", "S: -ERR invalid command\r\n") // not counted
	}
	e.Play("C: RETR 1\r\n", "S: -ERR invalid command\r\n")
	e.CloseWith(session.ErrClosed)

	// Parser errors inside a SASL exchange count too and end it.
	e = serve(t, Options{MaxErrors: 2}, &fakeAuth{})
	e.Play("S: +OK POP3 ready\r\n",
		"C: AUTH PLAIN\r\n", "S: + \r\n", "C: a b c d\r\n", "S: -ERR invalid command\r\n",
		"C: AHUAcA==\r\n", "S: -ERR invalid command\r\n", // back in "start": not a verb
	)
	e.CloseWith(session.ErrClosed)
}

// TestVerbRules covers SPEC §3.1 and §5.2.
func TestVerbRules(t *testing.T) {
	e := serve(t, Options{MaxErrors: 100}, &fakeAuth{})
	e.Play("S: +OK POP3 ready\r\n")
	for _, bad := range []string{"CAPAX\r\n", " CAPA\r\n", "\r\n", "\n", "CAP\r\n", "CA1A\r\n", "NOOP\rX\r\n", "NOOP\tx\r\n",
		"UIDL\r\n", "TOP 1 1\r\n", "UTF8\r\n", "NOOP a b c d\r\n", "APOP a b c d\r\n"} {
		e.Play("C: "+bad, "S: -ERR invalid command\r\n")
	}
	for _, good := range []string{"noop\r\n", "NoOp\n", "NOOP a b c\r\n", "NOOP   \r\n"} {
		e.Play("C: "+good, "S: +OK\r\n")
	}
	// A line split across reads is reassembled.
	e.Play("C: NO")
	e.Silent(50e6)
	e.Play("C: OP\r", "C: \n", "S: +OK\r\n")
}
