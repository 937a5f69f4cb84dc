package proxy_test

import (
	"strings"
	"testing"
	"time"
)

// clientFaultYAML offers STARTTLS, for the cases that break it.
const clientFaultYAML = `
servers:
  - protocol: imap
    auth_http: http://AUTH/auth
    auth_http_timeout: 1s
    timeout: 2s
    imap_client_buffer: 256
    proxy_pass_error_message: PASS
    starttls: on
    ssl_certificate: CERT
    ssl_certificate_key: KEY
    listen: [127.0.0.1:0]
`

// partialHello is the start of a TLS ClientHello: a handshake that never
// completes.
const partialHello = ">\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03"

// TestClientFaults: clients that trickle, overflow, announce absurd
// literals, or go away in every state before login. Each gets nginx's
// reply (SPEC §2.3, §3.3, §4.5, §8.2), the log line and outcome naming the
// fault, and leaks nothing.
func TestClientFaults(t *testing.T) {
	slowAuth := func(string) string { time.Sleep(3 * time.Second); return "" }
	runFaults(t, clientFaultYAML, "* OK IMAP4 ready\r\n", "o NOOP\r\n", "o OK completed\r\n", []faultCase{
		// The pre-auth deadline runs from the greeting and is not re-armed
		// by data: a client sending a byte every 400 ms is cut at
		// `timeout` and never answered.
		{name: "slowloris", steps: []string{imapGreet, "slow>a NOOP\r\n", "closed"},
			log: []string{`outcome="client timed out"`}},
		{name: "hangup-before-greeting", steps: []string{"hangup"},
			log: []string{`outcome="ended before login: `}},
		{name: "hangup-mid-command", steps: []string{imapGreet, ">a LOGIN u", "hangup"},
			log: []string{`outcome="ended before login: EOF"`}},
		{name: "overlong-line-without-tag", steps: []string{imapGreet, ">" + strings.Repeat("x", 300), "<* BAD invalid command\r\n", "closed"},
			log: []string{`msg="client sent too long command"`}},
		// A literal size that overflows is a parser error; the session
		// goes on.
		{name: "literal-size-overflow", steps: []string{imapGreet, ">a LOGIN {99999999999999999999}\r\n", "<a BAD invalid command\r\n", ">b NOOP\r\n", "<b OK completed\r\n", "hangup"},
			log: []string{`outcome="ended before login: EOF"`}},
		// A non-synchronizing literal gets no "+ OK"; its bytes overflow
		// the buffer.
		{name: "huge-nonsync-literal", steps: []string{imapGreet, ">a LOGIN {100000+}\r\n" + strings.Repeat("y", 300), "<a BAD invalid command\r\n", "closed"},
			log: []string{`msg="client sent too long command"`}},
		// The handshake runs under the deadline started at the greeting.
		{name: "starttls-never-handshakes", steps: []string{imapGreet, ">a STARTTLS\r\n", "<a OK completed\r\n", "closed"},
			log: []string{`msg="STARTTLS handshake failed"`, `outcome="client timed out"`}},
		{name: "hangup-mid-starttls", steps: []string{imapGreet, ">a STARTTLS\r\n", "<a OK completed\r\n", partialHello, "hangup"},
			log: []string{`msg="STARTTLS handshake failed"`, `err="unexpected EOF"`, `outcome="ended before login: unexpected EOF"`}},
		// Nobody reads the client while the auth service is asked: the
		// session ends with auth_http_timeout.
		{name: "hangup-waiting-for-auth", auth: slowAuth, steps: []string{imapGreet, imapLoginCmd, "hangup"},
			log: []string{`err="timed out"`}},
	})
}
