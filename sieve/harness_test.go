package sieve

import (
	"testing"
	"time"

	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

type fakeAuth = sessiontest.FakeAuth

var (
	ok   = sessiontest.OK
	fail = sessiontest.Fail
)

// serve runs a Server with o (MaxErrors 5 and Auth ["plain"] unless set)
// under the shared harness; tune may adjust the session.Conn before Serve
// starts.
func serve(t *testing.T, o Options, auth *fakeAuth, tune ...func(*session.Conn)) *sessiontest.Harness {
	t.Helper()
	if o.MaxErrors == 0 {
		o.MaxErrors = 5
	}
	if o.Auth == nil {
		o.Auth = []string{"plain"}
	}
	return sessiontest.Serve(t, NewServer(o).Serve, auth, tune...)
}

// onTLS marks the connection as TLS already (implicit TLS, `ssl on`).
func onTLS(sc *session.Conn) { sc.TLS = true }

// withTimeout sets the `timeout` directive.
func withTimeout(d time.Duration) func(*session.Conn) {
	return func(sc *session.Conn) { sc.Timeout = d }
}

// defaultExt is DefaultSieveExt spelled out, so that a change to the
// advertised default shows here.
const defaultExt = "fileinto reject envelope encoded-character vacation subaddress comparator-i;ascii-numeric relational regex imap4flags copy include variables body environment mailbox date index ihave duplicate mime foreverypart extracttext"

// caps is a capability listing (RFC 5804 §1.7) in the server's order,
// without the final OK.
func caps(saslNames, ext string, starttls bool) string {
	s := "\"IMPLEMENTATION\" \"mailproxy\"\r\n" +
		"\"SASL\" \"" + saslNames + "\"\r\n" +
		"\"SIEVE\" \"" + ext + "\"\r\n"
	if starttls {
		s += "\"STARTTLS\"\r\n"
	}
	return s + "\"VERSION\" \"1.0\"\r\n"
}

const (
	ready = "OK \"ManageSieve ready.\"\r\n"
	// greeting is the default server's greeting: starttls off, PLAIN.
	greeting = "\"IMPLEMENTATION\" \"mailproxy\"\r\n" +
		"\"SASL\" \"PLAIN\"\r\n" +
		"\"SIEVE\" \"" + defaultExt + "\"\r\n" +
		"\"VERSION\" \"1.0\"\r\n" +
		"OK \"ManageSieve ready.\"\r\n"

	// Replies, spelled out.
	rNoop      = "OK \"NOOP completed.\"\r\n"
	rSyntax    = "NO \"Syntax error.\"\r\n"
	rUnknown   = "NO \"Unknown command.\"\r\n"
	rLoginFst  = "NO \"Log in first.\"\r\n"
	rNoSTLS    = "NO \"STARTTLS not available.\"\r\n"
	rPlaintext = "NO \"Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\"\r\n"
	rMechanism = "NO \"Unsupported authentication mechanism.\"\r\n"
	rSASL      = "NO \"Invalid SASL response.\"\r\n"
	rAborted   = "NO \"Authentication aborted by client.\"\r\n"
	rLogout    = "OK \"Logout completed.\"\r\n"

	// irAlice is base64("\x00alice\x00s3cret"), 20 characters.
	irAlice = "AGFsaWNlAHMzY3JldA=="
	// irBob is base64("\x00bob\x00password12345"), 24 characters: the
	// {24+} of sieve-connect's AUTHENTICATE.
	irBob = "AGJvYgBwYXNzd29yZDEyMzQ1"
)
