package pop3

import (
	"strings"
	"testing"

	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

// TestMaxCommands: the command after max_commands gets "-ERR invalid
// command" and the session ends; parser errors do not count, SASL
// response lines do.
func TestMaxCommands(t *testing.T) {
	h := serve(t, Options{MaxCommands: 3}, &fakeAuth{})
	h.Play("S: +OK POP3 ready\r\n",
		"C: NOOP\r\n", "S: +OK\r\n",
		"C: BOGUS\r\n", "S: -ERR invalid command\r\n",
		"C: AUTH PLAIN\r\n", "S: + \r\n",
		"C: *\r\n", "S: -ERR invalid command\r\n",
		"C: NOOP\r\n", "S: -ERR invalid command\r\n")
	h.CloseWith(session.ErrTooManyCommands)
}

// TestMaxCommandsDefault: without max_commands, nginx's 1000.
func TestMaxCommandsDefault(t *testing.T) {
	h := serve(t, Options{}, &fakeAuth{})
	h.Play("S: +OK POP3 ready\r\n")
	for range 100 {
		h.Play("C: "+strings.Repeat("NOOP\r\n", 10), "S: "+strings.Repeat("+OK\r\n", 10))
	}
	h.Play("C: USER u\r\n", "S: -ERR invalid command\r\n")
	h.CloseWith(session.ErrTooManyCommands)
}

// TestLimitConnAtLogin: freenginx's reply to a login over a limit_conn
// limit, then the session ends.
func TestLimitConnAtLogin(t *testing.T) {
	h := serve(t, Options{}, &fakeAuth{}, sessiontest.Limited)
	h.Play("S: +OK POP3 ready\r\n", "C: USER u\r\n", "S: +OK\r\n", "C: PASS p\r\n", "S: -ERR [SYS/TEMP] Too many connections\r\n")
	h.CloseWith(session.ErrLimited)
}
