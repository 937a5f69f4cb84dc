package proxy_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
)

// spliceFaultYAML is faultYAML with a short proxy_timeout, for faults
// after login.
var spliceFaultYAML = strings.Replace(faultYAML, "    timeout: 2s\n", "    timeout: 2s\n    proxy_timeout: 2s\n", 1)

// TestBackendFaults: backends that send a line longer than proxy_buffer,
// stall or half-close once spliced, and clients that hang up or half-close
// mid-splice or while the backend is being reached. Each gets nginx's
// reply (SPEC §11.1, §11.6, §11.7), the log line and outcome naming the
// fault, and leaks nothing.
func TestBackendFaults(t *testing.T) {
	huge := strings.Repeat("x", 10000)
	hugeGreeting := scriptedBackend(t, func(c net.Conn) { io.WriteString(c, "* OK "+huge+"\r\n"); io.Copy(io.Discard, c) })
	hugeReply := loginThen(t, "* OK ready\r\n", []string{"+ go\r\n", "+ go\r\n", "a NO " + huge + "\r\n"}, drain)
	silent := scriptedBackend(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	stalls := loginThen(t, "* OK ready\r\n", imapLogin, drain)
	halfCloses := loginThen(t, "* OK ready\r\n", imapLogin, shutWrite)
	bye := loginThen(t, "* OK ready\r\n", imapLogin, func(c *net.TCPConn, r *bufio.Reader) { io.WriteString(c, "* BYE bye\r\n") })
	runFaults(t, spliceFaultYAML, "* OK IMAP4 ready\r\n", "o NOOP\r\n", "o OK completed\r\n", []faultCase{
		{name: "backend-huge-greeting", auth: okAuthAt(hugeGreeting), steps: []string{imapGreet, imapLoginCmd, imapInternal, "closed"},
			log: []string{`msg="upstream login failed"`, `upstream sent too long response line`, `outcome="backend login failed"`}},
		// A line too long to judge is not the backend's refusal: it is
		// never passed to the client, even with proxy_pass_error_message.
		{name: "backend-huge-reply-pass-error", pass: "on", auth: okAuthAt(hugeReply), steps: []string{imapGreet, imapLoginCmd, imapInternal, "closed"},
			log: []string{`upstream sent too long response line`, `outcome="backend login failed"`}},
		{name: "hangup-waiting-for-backend", auth: okAuthAt(silent), steps: []string{imapGreet, imapLoginCmd, "hangup"},
			log: []string{`msg="upstream timed out"`, `outcome="backend login failed"`}},
		// proxy_timeout is re-armed by the client only: a backend that
		// never answers ends the session after it (SPEC §11.7).
		{name: "backend-stalls-mid-splice", auth: okAuthAt(stalls), steps: []string{imapGreet, imapLoginCmd, imapLoggedIn, ">b NOOP\r\n", "closed"},
			log: []string{`msg="client timed out while proxying"`, `outcome=proxy_timeout`}},
		// A half-close ends the session both ways, at once (no half-close
		// is propagated, SPEC §11.7).
		{name: "backend-half-closes-mid-splice", auth: okAuthAt(halfCloses), steps: []string{imapGreet, imapLoginCmd, imapLoggedIn, "closed"},
			log: []string{`msg="client logged in"`, `outcome="backend closed"`}},
		{name: "backend-closes-mid-splice", auth: okAuthAt(bye), steps: []string{imapGreet, imapLoginCmd, imapLoggedIn, "<* BYE bye\r\n", "closed"},
			log: []string{`outcome="backend closed"`}},
		{name: "client-half-closes-mid-splice", auth: okAuthAt(stalls), steps: []string{imapGreet, imapLoginCmd, imapLoggedIn, "halfclose", "closed"},
			log: []string{`outcome="client closed"`}},
		{name: "hangup-mid-splice", auth: okAuthAt(stalls), steps: []string{imapGreet, imapLoginCmd, imapLoggedIn, ">b NOOP\r\n", "hangup"},
			log: []string{`outcome="client closed"`, `bytes_to_backend=8`}},
	})
}
