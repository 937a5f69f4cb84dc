package sieve

import (
	"testing"

	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

// limitsGreeting is the greeting with sieve_capabilities [fileinto].
const limitsGreeting = "S: \"IMPLEMENTATION\" \"mailproxy\"\r\n\"SASL\" \"PLAIN\"\r\n\"SIEVE\" \"fileinto\"\r\n\"VERSION\" \"1.0\"\r\nOK \"ManageSieve ready.\"\r\n"

// TestMaxCommands: the command after max_commands gets BYE and the
// session ends; syntax errors do not count.
func TestMaxCommands(t *testing.T) {
	h := serve(t, Options{MaxCommands: 2, Capabilities: []string{"fileinto"}}, &fakeAuth{})
	h.Play(limitsGreeting,
		"C: NOOP\r\n", "S: OK \"NOOP completed.\"\r\n",
		"C: FOO\r\n", "S: NO \"Unknown command.\"\r\n",
		"C: NOOP\r\n", "S: OK \"NOOP completed.\"\r\n",
		"C: LOGOUT\r\n", "S: BYE \"Too many commands.\"\r\n")
	h.CloseWith(session.ErrTooManyCommands)
}

// TestLimitConnAtLogin: a login over a limit_conn limit gets BYE
// (TRYLATER) and the session ends.
func TestLimitConnAtLogin(t *testing.T) {
	h := serve(t, Options{Capabilities: []string{"fileinto"}}, &fakeAuth{}, sessiontest.Limited)
	h.Play(limitsGreeting, "C: AUTHENTICATE \"PLAIN\" \"AHUAcA==\"\r\n", "S: BYE (TRYLATER) \"Too many connections.\"\r\n")
	h.CloseWith(session.ErrLimited)
}
