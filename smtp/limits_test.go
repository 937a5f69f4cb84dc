package smtp

import (
	"testing"

	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

// TestMaxCommands: the command after max_commands gets "500 5.5.1
// Invalid command" and the session ends; parser errors do not count.
func TestMaxCommands(t *testing.T) {
	h := serve(t, Options{MaxCommands: 2}, &fakeAuth{})
	h.Play(greeting,
		"C: NOOP\r\n", "S: 250 2.0.0 OK\r\n",
		"C: DATA\r\n", "S: 500 5.5.1 Invalid command\r\n",
		"C: RSET\r\n", "S: 250 2.0.0 OK\r\n",
		"C: QUIT\r\n", "S: 500 5.5.1 Invalid command\r\n")
	h.CloseWith(session.ErrTooManyCommands)
}

// TestLimitConnAtLogin: freenginx's reply to a login over a limit_conn
// limit, then the session ends.
func TestLimitConnAtLogin(t *testing.T) {
	h := serve(t, Options{}, &fakeAuth{}, sessiontest.Limited)
	h.Play(greeting, "C: EHLO x\r\n", "S: 250-mx.example.com\r\n", "S: 250 AUTH PLAIN LOGIN\r\n",
		"C: AUTH PLAIN AHUAcA==\r\n", "S: 454 4.7.0 Too many connections\r\n")
	h.CloseWith(session.ErrLimited)
}
