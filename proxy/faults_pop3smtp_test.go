package proxy_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// lineBackend is a scripted backend: it sends greeting, then answers each
// line it receives with the next reply, and after the last reply keeps
// the connection open for a second.
func lineBackend(t *testing.T, greeting string, replies ...string) string {
	return scriptedBackend(t, func(c net.Conn) {
		io.WriteString(c, greeting)
		r := bufio.NewReader(c)
		for _, rep := range replies {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			io.WriteString(c, rep)
		}
		time.Sleep(time.Second)
	})
}

func okAuthAt(addr string) func(string) string {
	h, p, _ := net.SplitHostPort(addr)
	return authReply("HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: " + h + "\r\nAuth-Port: " + p + "\r\n\r\n")
}

const pop3FaultYAML = `
servers:
  - protocol: pop3
    auth_http: http://AUTH/auth
    auth_http_timeout: 1s
    timeout: 2s
    proxy_pass_error_message: PASS
    listen: [127.0.0.1:0]
`

// TestPOP3Faults: overlong lines, bad base64, a cancelled exchange, and
// backends that refuse or break, each with nginx's reply and no leak.
func TestPOP3Faults(t *testing.T) {
	refusing := lineBackend(t, "+OK ready\r\n", "+OK\r\n", "-ERR [AUTH] no\r\n")
	runFaults(t, pop3FaultYAML, "+OK POP3 ready\r\n", "NOOP\r\n", "+OK\r\n", []faultCase{
		{name: "overlong-line", steps: []string{"<+OK POP3 ready\r\n", ">USER " + strings.Repeat("x", 200) + "\r\n", "<-ERR invalid command\r\n", "closed"}, log: []string{`msg="client sent too long command"`}},
		{name: "bad-base64", steps: []string{"<+OK POP3 ready\r\n", ">AUTH PLAIN !!!!\r\n", "<-ERR invalid command\r\n", ">NOOP\r\n", "<+OK\r\n"}, log: []string{`msg="client sent invalid base64 encoding in AUTH PLAIN command"`}},
		{name: "sasl-cancel", steps: []string{"<+OK POP3 ready\r\n", ">AUTH LOGIN\r\n", "<+ VXNlcm5hbWU6\r\n", ">*\r\n", "<-ERR invalid command\r\n", ">NOOP\r\n", "<+OK\r\n"}, log: []string{`msg="client sent invalid base64 encoding in AUTH LOGIN command"`}},
		{name: "pass-without-user", steps: []string{"<+OK POP3 ready\r\n", ">PASS x\r\n", "<-ERR invalid command\r\n", ">NOOP\r\n", "<+OK\r\n"}, log: []string{`outcome="ended before login: EOF"`}},
		{name: "backend-refuses", auth: okAuthAt(refusing), steps: []string{"<+OK POP3 ready\r\n", ">USER u\r\n", "<+OK\r\n", ">PASS p\r\n", "<-ERR internal server error\r\n", "closed"}, log: []string{`level=ERROR msg="upstream sent invalid response"`, `text="-ERR [AUTH] no"`}},
		{name: "backend-refuses-pass-error", pass: "on", auth: okAuthAt(refusing), steps: []string{"<+OK POP3 ready\r\n", ">USER u\r\n", "<+OK\r\n", ">PASS p\r\n", "<-ERR [AUTH] no\r\n", "closed"}, log: []string{`level=INFO msg="upstream sent invalid response"`, `text="-ERR [AUTH] no"`}},
		{name: "backend-down", auth: okAuthAt(closedPort(t)), steps: []string{"<+OK POP3 ready\r\n", ">USER u\r\n", "<+OK\r\n", ">PASS p\r\n", "<-ERR internal server error\r\n", "closed"}, log: []string{`msg="connecting to upstream failed"`, `outcome="backend login failed"`}},
		{name: "auth-down", steps: []string{"<+OK POP3 ready\r\n", ">USER u\r\n", "<+OK\r\n", ">PASS p\r\n", "<-ERR internal server error\r\n", "closed"}, log: []string{`err="connect() failed (111: Connection refused)"`}},
		{name: "hangup-mid-sasl", steps: []string{"<+OK POP3 ready\r\n", ">AUTH PLAIN\r\n", "<+ \r\n", "hangup"}, log: []string{`outcome="ended before login: EOF"`}},
	})
}

const smtpFaultYAML = `
servers:
  - protocol: smtp
    server_name: mx.example.com
    auth_http: http://AUTH/auth
    auth_http_timeout: 1s
    timeout: 2s
    smtp_client_buffer: 256
    proxy_pass_error_message: PASS
    EXTRA
    listen: [127.0.0.1:0]
`

// TestSMTPFaults: overlong lines, bad base64, a cancelled exchange, MAIL
// before authentication, a verbatim Auth-Error-Code, and backends that
// refuse XCLIENT or AUTH, each with nginx's reply and no leak.
func TestSMTPFaults(t *testing.T) {
	const greet = "<220 mx.example.com ESMTP ready\r\n"
	noXCLIENT := lineBackend(t, "220 be\r\n", "250 be\r\n", "550 5.7.0 XCLIENT denied\r\n")
	runFaults(t, strings.Replace(smtpFaultYAML, "EXTRA", "xclient: on", 1), greet[1:], "NOOP\r\n", "250 2.0.0 OK\r\n", []faultCase{
		{name: "overlong-line", steps: []string{greet, ">NOOP " + strings.Repeat("x", 300) + "\r\n", "<500 5.5.1 Invalid command\r\n", "closed"}, log: []string{`msg="client sent too long command"`}},
		{name: "bad-base64", steps: []string{greet, ">AUTH PLAIN !!!!\r\n", "<500 5.5.1 Invalid command\r\n", ">NOOP\r\n", "<250 2.0.0 OK\r\n"}, log: []string{`msg="client sent invalid base64 encoding in AUTH PLAIN command"`}},
		{name: "sasl-cancel", steps: []string{greet, ">AUTH LOGIN\r\n", "<334 VXNlcm5hbWU6\r\n", ">*\r\n", "<500 5.5.1 Invalid command\r\n", ">NOOP\r\n", "<250 2.0.0 OK\r\n"}, log: []string{`msg="client sent invalid base64 encoding in AUTH LOGIN command"`}},
		{name: "mail-before-helo", steps: []string{greet, ">MAIL FROM:<a@example.org>\r\n", "<530 5.7.1 Authentication required\r\n", ">RCPT TO:<b@example.org>\r\n", "<503 5.5.1 Bad sequence of commands\r\n"}, log: []string{`msg="client was rejected"`, `command="MAIL FROM:<a@example.org>"`}},
		{name: "data-is-a-parser-error", steps: []string{greet, ">DATA\r\n", "<500 5.5.1 Invalid command\r\n", ">NOOP\r\n", "<250 2.0.0 OK\r\n"}, log: []string{`outcome="ended before login: EOF"`}},
		{name: "odd-auth-error-code", auth: authReply("HTTP/1.0 200 OK\r\nAuth-Status: Nope\r\nAuth-Error-Code: 5xx bogus\r\n\r\n"), steps: []string{greet, ">AUTH PLAIN AHUAcA==\r\n", "<5xx bogus Nope\r\n", "closed"}, log: []string{`msg="client login failed"`, `reason=Nope`, `outcome="closed before login"`}},
		{name: "backend-refuses-xclient", auth: okAuthAt(noXCLIENT), steps: []string{greet, ">AUTH PLAIN AHUAcA==\r\n", "<451 4.3.2 Internal server error\r\n", "closed"}, log: []string{`level=ERROR msg="upstream sent invalid response"`, `text="550 5.7.0 XCLIENT denied"`}},
		{name: "backend-refuses-xclient-pass-error", pass: "on", auth: okAuthAt(noXCLIENT), steps: []string{greet, ">AUTH PLAIN AHUAcA==\r\n", "<550 5.7.0 XCLIENT denied\r\n", "closed"}, log: []string{`level=INFO msg="upstream sent invalid response"`, `text="550 5.7.0 XCLIENT denied"`}},
		{name: "backend-never-greets", auth: okAuthAt(scriptedBackend(t, func(c net.Conn) { io.Copy(io.Discard, c) })), steps: []string{greet, ">AUTH PLAIN AHUAcA==\r\n", "<451 4.3.2 Internal server error\r\n", "closed"}, log: []string{`msg="upstream timed out"`, `outcome="backend login failed"`}},
		{name: "hangup-waiting-for-auth", auth: func(string) string { time.Sleep(500 * time.Millisecond); return "" }, steps: []string{greet, ">AUTH PLAIN AHUAcA==\r\n", "hangup"}, log: []string{`err="closed the connection before the end of the response header"`}},
	})
	noAUTH := lineBackend(t, "220 be\r\n", "250 be\r\n", "535 5.7.8 bad creds\r\n")
	runFaults(t, strings.Replace(smtpFaultYAML, "EXTRA", "xclient: off\n    proxy_smtp_auth: on", 1), greet[1:], "NOOP\r\n", "250 2.0.0 OK\r\n", []faultCase{
		{name: "backend-refuses-auth", auth: okAuthAt(noAUTH), steps: []string{greet, ">AUTH PLAIN AHUAcA==\r\n", "<451 4.3.2 Internal server error\r\n", "closed"}, log: []string{`level=ERROR msg="upstream sent invalid response"`, `text="535 5.7.8 bad creds"`}},
		{name: "backend-refuses-auth-pass-error", pass: "on", auth: okAuthAt(noAUTH), steps: []string{greet, ">AUTH PLAIN AHUAcA==\r\n", "<535 5.7.8 bad creds\r\n", "closed"}, log: []string{`level=INFO msg="upstream sent invalid response"`, `text="535 5.7.8 bad creds"`}},
	})
}
