package sieve

import (
	"testing"

	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

func serve(t *testing.T, o Options, tune ...func(*session.Conn)) *sessiontest.Harness {
	t.Helper()
	if o.MaxErrors == 0 {
		o.MaxErrors = 5
	}
	o.Capabilities = []string{"fileinto"}
	return sessiontest.Serve(t, NewServer(o).Serve, &sessiontest.FakeAuth{}, tune...)
}

const greeting = "S: \"IMPLEMENTATION\" \"mailproxy\"\r\n\"SASL\" \"PLAIN\"\r\n\"SIEVE\" \"fileinto\"\r\n\"VERSION\" \"1.0\"\r\nOK \"ManageSieve ready.\"\r\n"

// TestMaxCommands: the command after max_commands gets BYE and the
// session ends; syntax errors do not count.
func TestMaxCommands(t *testing.T) {
	h := serve(t, Options{MaxCommands: 2})
	h.Play(greeting,
		"C: NOOP\r\n", "S: OK \"NOOP completed.\"\r\n",
		"C: FOO\r\n", "S: NO \"Unknown command.\"\r\n",
		"C: NOOP\r\n", "S: OK \"NOOP completed.\"\r\n",
		"C: LOGOUT\r\n", "S: BYE \"Too many commands.\"\r\n")
	h.CloseWith(session.ErrTooManyCommands)
}

// TestLimitConnAtLogin: a login over a limit_conn limit gets BYE
// (TRYLATER) and the session ends.
func TestLimitConnAtLogin(t *testing.T) {
	h := serve(t, Options{}, sessiontest.Limited)
	h.Play(greeting, "C: AUTHENTICATE \"PLAIN\" \"AHUAcA==\"\r\n", "S: BYE (TRYLATER) \"Too many connections.\"\r\n")
	h.CloseWith(session.ErrLimited)
}
