package proxy_test

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

const pop3StageYAML = `
servers:
  - protocol: pop3
    auth_http: http://AUTH/auth
    auth_http_timeout: 1s
    timeout: 2s
    proxy_timeout: 2s
    proxy_pass_error_message: PASS
    starttls: on
    ssl_certificate: CERT
    ssl_certificate_key: KEY
    listen: [127.0.0.1:0]
`

// TestPOP3StageFaults: a POP3 client that goes away during STLS, while
// the auth service or the backend is being asked, or mid-splice; backends
// that send an overlong greeting, stall or half-close once spliced; an
// absurd Auth-Wait. Each gets nginx's reply, log line and outcome, and
// leaks nothing.
func TestPOP3StageFaults(t *testing.T) {
	const greet, user, pass = "<+OK POP3 ready\r\n", ">USER u\r\n", ">PASS p\r\n"
	huge := scriptedBackend(t, func(c net.Conn) { io.WriteString(c, "+OK "+strings.Repeat("x", 10000)+"\r\n"); io.Copy(io.Discard, c) })
	silent := scriptedBackend(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	stalls := loginThen(t, "+OK ready\r\n", pop3Login, drain)
	halfCloses := loginThen(t, "+OK ready\r\n", pop3Login, shutWrite)
	slowAuth := func(string) string { time.Sleep(3 * time.Second); return "" }
	runFaults(t, pop3StageYAML, "+OK POP3 ready\r\n", "NOOP\r\n", "+OK\r\n", []faultCase{
		{name: "hangup-mid-stls", steps: []string{greet, ">STLS\r\n", "<+OK\r\n", partialHello, "hangup"},
			log: []string{`msg="STARTTLS handshake failed"`, `outcome="ended before login: unexpected EOF"`}},
		{name: "hangup-waiting-for-auth", auth: slowAuth, steps: []string{greet, user, "<+OK\r\n", pass, "hangup"},
			log: []string{`err="timed out"`}},
		{name: "auth-wait-huge-failure", auth: authReply("Auth-Status: Nope\r\nAuth-Wait: 999999999999\r\n\r\n"),
			steps: []string{greet, user, "<+OK\r\n", pass, "quiet", "hangup"},
			log:   []string{`reason=Nope`, `outcome="ended before login: client closed the connection during the Auth-Wait delay"`}},
		{name: "hangup-waiting-for-backend", auth: okAuthAt(silent), steps: []string{greet, user, "<+OK\r\n", pass, "hangup"},
			log: []string{`msg="upstream timed out"`, `outcome="backend login failed"`}},
		{name: "backend-huge-greeting", pass: "on", auth: okAuthAt(huge), steps: []string{greet, user, "<+OK\r\n", pass, "<-ERR internal server error\r\n", "closed"},
			log: []string{`upstream sent too long response line`, `outcome="backend login failed"`}},
		{name: "backend-stalls-mid-splice", auth: okAuthAt(stalls), steps: []string{greet, user, "<+OK\r\n", pass, "<+OK logged in\r\n", ">STAT\r\n", "closed"},
			log: []string{`msg="client timed out while proxying"`, `outcome=proxy_timeout`}},
		{name: "backend-half-closes-mid-splice", auth: okAuthAt(halfCloses), steps: []string{greet, user, "<+OK\r\n", pass, "<+OK logged in\r\n", "closed"},
			log: []string{`outcome="backend closed"`}},
		{name: "hangup-mid-splice", auth: okAuthAt(stalls), steps: []string{greet, user, "<+OK\r\n", pass, "<+OK logged in\r\n", ">STAT\r\n", "hangup"},
			log: []string{`outcome="client closed"`, `bytes_to_backend=6`}},
	})
}

// TestSMTPStageFaults: the same for SMTP, whose client sees nginx's own
// 235 at login (SPEC §11.5) and 451 4.3.2 on every infrastructure fault.
func TestSMTPStageFaults(t *testing.T) {
	const greet, auth = "<220 mx.example.com ESMTP ready\r\n", ">AUTH PLAIN AHUAcA==\r\n"
	const internal, loggedIn = "<451 4.3.2 Internal server error\r\n", "<235 2.0.0 OK\r\n"
	huge := scriptedBackend(t, func(c net.Conn) { io.WriteString(c, "220 "+strings.Repeat("x", 10000)+"\r\n"); io.Copy(io.Discard, c) })
	silent := scriptedBackend(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	stalls := loginThen(t, "220 be\r\n", smtpLogin, drain)
	halfCloses := loginThen(t, "220 be\r\n", smtpLogin, shutWrite)
	yaml := strings.Replace(smtpFaultYAML, "EXTRA", "xclient: on\n    proxy_timeout: 2s\n    starttls: on\n    ssl_certificate: CERT\n    ssl_certificate_key: KEY", 1)
	runFaults(t, yaml, greet[1:], "NOOP\r\n", "250 2.0.0 OK\r\n", []faultCase{
		{name: "hangup-mid-starttls", steps: []string{greet, ">STARTTLS\r\n", "<220 2.0.0 Start TLS\r\n", partialHello, "hangup"},
			log: []string{`msg="STARTTLS handshake failed"`, `outcome="ended before login: unexpected EOF"`}},
		{name: "hangup-waiting-for-backend", auth: okAuthAt(silent), steps: []string{greet, auth, "hangup"},
			log: []string{`msg="upstream timed out"`, `outcome="backend login failed"`}},
		{name: "backend-huge-greeting", pass: "on", auth: okAuthAt(huge), steps: []string{greet, auth, internal, "closed"},
			log: []string{`upstream sent too long response line`, `outcome="backend login failed"`}},
		{name: "backend-stalls-mid-splice", auth: okAuthAt(stalls), steps: []string{greet, auth, loggedIn, ">NOOP\r\n", "closed"},
			log: []string{`msg="client timed out while proxying"`, `outcome=proxy_timeout`}},
		{name: "backend-half-closes-mid-splice", auth: okAuthAt(halfCloses), steps: []string{greet, auth, loggedIn, "closed"},
			log: []string{`outcome="backend closed"`}},
		{name: "hangup-mid-splice", auth: okAuthAt(stalls), steps: []string{greet, auth, loggedIn, ">NOOP\r\n", "hangup"},
			log: []string{`outcome="client closed"`, `bytes_to_backend=6`}},
	})
}
