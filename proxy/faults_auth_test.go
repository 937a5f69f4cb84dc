package proxy_test

import (
	"strings"
	"testing"
	"time"
)

// The IMAP dialogue pieces shared by the fault tables.
const (
	imapGreet    = "<* OK IMAP4 ready\r\n"
	imapLoginCmd = ">a LOGIN u p\r\n"
	imapInternal = "<* BAD internal server error\r\n"
	imapLoggedIn = "<a OK done\r\n"
)

// TestAuthFaults: auth services that cut, trickle, overflow, redirect,
// contradict themselves or name an unusable backend. Each gets nginx's
// reply (SPEC §9.6, §10), the log line naming the fault, and leaks
// nothing; an absurd Auth-Wait never keeps a session whose client left.
func TestAuthFaults(t *testing.T) {
	be := loginThen(t, "* OK ready\r\n", imapLogin, drain)
	fail := []string{imapGreet, imapLoginCmd, imapInternal, "closed"}
	runFaults(t, faultYAML, "* OK IMAP4 ready\r\n", "o NOOP\r\n", "o OK completed\r\n", []faultCase{
		// The read timer is not re-armed by data (SPEC §2.3): an answer
		// trickling in slower than auth_http_timeout fails though bytes
		// keep coming.
		{name: "auth-trickle-past-timeout", authConn: trickle(okAnswer(be), 150*time.Millisecond), steps: fail,
			log: []string{`err="timed out"`, `msg="auth http server 127.0.0.1:`}},
		{name: "auth-closes-mid-header", authConn: cutOff("HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Ser"), steps: fail,
			log: []string{`err="closed the connection before the end of the response header"`}},
		// A close is not the end of the header block, even after a
		// complete OK answer but for its empty line.
		{name: "auth-closes-before-empty-line", authConn: cutOff(strings.TrimSuffix(okAnswer(be), "\r\n")), steps: fail,
			log: []string{`err="closed the connection before the end of the response header"`}},
		// A complete, valid answer is still refused past 1024 bytes.
		{name: "auth-header-over-limit", auth: authReply(okAnswer(be, "X-Pad: "+strings.Repeat("x", 1000)+"\r\n")), steps: fail,
			log: []string{`err="sent a response header larger than 1024 bytes"`}},
		{name: "auth-302-redirect", auth: authReply("HTTP/1.0 302 Found\r\nLocation: http://elsewhere/\r\n\r\n"), steps: fail,
			log: []string{`err="did not send server or port"`}},
		// The status code is never looked at (SPEC §10.1).
		{name: "auth-500-with-good-headers", auth: authReply(strings.Replace(okAnswer(be), "200 OK", "500 Internal Server Error", 1)),
			steps: []string{imapGreet, imapLoginCmd, imapLoggedIn, "hangup"},
			log:   []string{`msg="client logged in"`, `outcome="client closed"`}},
		// An OK after an error value does not cancel it (SPEC §10.2).
		{name: "auth-status-error-then-ok", auth: authReply("Auth-Status: Bad one\r\n" + okAnswer(be)[len("HTTP/1.0 200 OK\r\n"):]),
			steps: []string{imapGreet, imapLoginCmd, "<a NO Bad one\r\n", "closed"},
			log:   []string{`msg="client login failed" `, `reason="Bad one"`, `outcome="closed before login"`}},
		// For a repeated header the last one wins.
		{name: "auth-server-twice-last-wins", auth: authReply(okAnswer(be, "Auth-Server: bogus\r\n")), steps: fail,
			log: []string{`err="sent invalid server address:\"bogus\""`}},
		{name: "auth-port-65536", auth: authReply(strings.Replace(okAnswer(be), "Auth-Port: ", "Auth-Port: 65536\r\nX-Old-Port: ", 1)), steps: fail,
			log: []string{`err="sent invalid server port:\"65536\""`}},
		{name: "auth-port-zero", auth: authReply(strings.Replace(okAnswer(be), "Auth-Port: ", "Auth-Port: 0\r\nX-Old-Port: ", 1)), steps: fail,
			log: []string{`err="sent invalid server port:\"0\""`}},
		{name: "auth-server-bracketed-ipv6", auth: authReply("Auth-Status: OK\r\nAuth-Server: [::1]\r\nAuth-Port: 143\r\n\r\n"), steps: fail,
			log: []string{`err="sent invalid server address:\"[::1]\""`}},
		// Auth-Wait takes digits only; a sign or a unit makes it invalid
		// and ignored (not read as 30 seconds), so the
		// failure is answered at once and the session closed (SPEC §10.2,
		// §10.4).
		{name: "auth-wait-negative", auth: authReply("Auth-Status: Nope\r\nAuth-Wait: -30\r\n\r\n"),
			steps: []string{imapGreet, imapLoginCmd, "<a NO Nope\r\n", "closed"},
			log:   []string{`reason=Nope`, `outcome="closed before login"`}},
		{name: "auth-wait-not-a-number", auth: authReply("Auth-Status: Nope\r\nAuth-Wait: 30s\r\n\r\n"),
			steps: []string{imapGreet, imapLoginCmd, "<a NO Nope\r\n", "closed"},
			log:   []string{`reason=Nope`, `outcome="closed before login"`}},
		// An absurd delay is honoured (nothing is sent), but only while
		// the client is there: once it hangs up the session ends.
		{name: "auth-wait-huge-failure", auth: authReply("Auth-Status: Nope\r\nAuth-Wait: 999999999999\r\n\r\n"),
			steps: []string{imapGreet, imapLoginCmd, "quiet", "hangup"},
			log:   []string{`reason=Nope`, `outcome="ended before login: client closed the connection during the Auth-Wait delay"`}},
		{name: "auth-wait-huge-status-wait", auth: authReply("Auth-Status: WAIT\r\nAuth-Wait: 999999999999\r\n\r\n"),
			steps: []string{imapGreet, imapLoginCmd, "quiet", "hangup"},
			log:   []string{`outcome="ended before login: client closed the connection during the Auth-Wait delay"`}},
	})
}

// TestAuthTrickleWithinTimeout: an answer arriving byte by byte is fine as
// long as the whole header block is in within auth_http_timeout.
func TestAuthTrickleWithinTimeout(t *testing.T) {
	be := loginThen(t, "* OK ready\r\n", imapLogin, drain)
	yaml := strings.Replace(faultYAML, "auth_http_timeout: 1s", "auth_http_timeout: 5s", 1)
	runFaults(t, yaml, "* OK IMAP4 ready\r\n", "o NOOP\r\n", "o OK completed\r\n", []faultCase{
		{name: "auth-trickle-within-timeout", authConn: trickle(okAnswer(be), 5*time.Millisecond),
			steps: []string{imapGreet, imapLoginCmd, imapLoggedIn, "hangup"},
			log:   []string{`msg="client logged in"`, `outcome="client closed"`}},
	})
}
