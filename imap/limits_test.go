package imap

import (
	"strings"
	"testing"

	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

// TestMaxCommands: the command after max_commands is answered "<tag> BAD
// invalid command" and the session ends (nginx); parser errors and a
// literal's "+ OK" do not count, a SASL response line does.
func TestMaxCommands(t *testing.T) {
	h := serve(t, Options{MaxCommands: 3}, &fakeAuth{})
	h.Play("S: * OK IMAP4 ready\r\n",
		"C: a NOOP\r\n", "S: a OK completed\r\n",
		"C: bad\r\n", "S: * BAD invalid command\r\n",
		"C: b LOGIN {1}\r\n", "S: + OK\r\n",
		"C: u\r\n", "S: b BAD invalid command\r\n", // no password: refused, but a command
		"C: c NOOP\r\n", "S: c OK completed\r\n",
		"C: d NOOP\r\n", "S: d BAD invalid command\r\n")
	h.CloseWith(session.ErrTooManyCommands)
	if !strings.Contains(h.Log.String(), `msg="client sent too many commands"`) {
		t.Fatalf("log %s", h.Log.String())
	}
}

// TestMaxCommandsSASL: a SASL response line past the limit is answered
// with the AUTHENTICATE command's tag, and never reaches the auth
// service.
func TestMaxCommandsSASL(t *testing.T) {
	auth := &fakeAuth{}
	h := serve(t, Options{MaxCommands: 1}, auth)
	h.Play("S: * OK IMAP4 ready\r\n", "C: x AUTHENTICATE PLAIN\r\n", "S: + \r\n", "C: AHUAcA==\r\n", "S: x BAD invalid command\r\n")
	h.CloseWith(session.ErrTooManyCommands)
	if len(auth.Requests()) != 0 {
		t.Fatal("the auth service was asked")
	}
}

// TestMaxCommandsDefault: without max_commands, nginx's 1000.
func TestMaxCommandsDefault(t *testing.T) {
	h := serve(t, Options{}, &fakeAuth{})
	h.Play("S: * OK IMAP4 ready\r\n", "C: "+strings.Repeat("a NOOP\r\n", 1000))
	for range 1000 {
		h.Play("S: a OK completed\r\n")
	}
	h.Play("C: z LOGIN u p\r\n", "S: z BAD invalid command\r\n")
	h.CloseWith(session.ErrTooManyCommands)
}

// TestLimitConnAtLogin: a login the auth service accepted but a
// limit_conn limit refuses gets freenginx's tagged reply and the session
// ends.
func TestLimitConnAtLogin(t *testing.T) {
	h := serve(t, Options{}, &fakeAuth{}, sessiontest.Limited)
	h.Play("S: * OK IMAP4 ready\r\n", "C: a1 LOGIN u p\r\n", "S: a1 NO [UNAVAILABLE] Too many connections\r\n")
	h.CloseWith(session.ErrLimited)
	h = serve(t, Options{}, &fakeAuth{}, sessiontest.Limited)
	h.Play("S: * OK IMAP4 ready\r\n", "C: a2 AUTHENTICATE PLAIN\r\n", "S: + \r\n", "C: AHUAcA==\r\n", "S: a2 NO [UNAVAILABLE] Too many connections\r\n")
	h.CloseWith(session.ErrLimited)
}
