package proxy_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// This file holds the scripted peers of the fault tests: backends that log
// in and then misbehave in the splice, and auth services that misbehave at
// the byte level.

// loginThen is a scripted backend that sends greeting, answers each line
// it receives with the next of replies (the protocol's login dialogue as
// nginx drives it), and then runs after on the spliced connection. Every
// read is bounded, so the script ends even if the proxy never closes.
func loginThen(t *testing.T, greeting string, replies []string, after func(c *net.TCPConn, r *bufio.Reader)) string {
	return scriptedBackend(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, greeting)
		r := bufio.NewReader(c)
		for _, rep := range replies {
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			io.WriteString(c, rep)
		}
		after(c.(*net.TCPConn), r)
	})
}

// The login dialogues of the scripted backends (SPEC §11.2–§11.4); the
// IMAP one answers the client tag "a".
var (
	imapLogin = []string{"+ go\r\n", "+ go\r\n", "a OK done\r\n"}
	pop3Login = []string{"+OK\r\n", "+OK logged in\r\n"}
	smtpLogin = []string{"250 be\r\n", "220 be\r\n"} // EHLO, XCLIENT
)

// drain reads the spliced connection until the proxy closes it (or the
// script's deadline passes): a backend that never answers.
func drain(c *net.TCPConn, r *bufio.Reader) { io.Copy(io.Discard, r) }

// shutWrite half-closes the backend's sending side, then keeps reading
// until the proxy closes its side too.
func shutWrite(c *net.TCPConn, r *bufio.Reader) {
	c.CloseWrite()
	io.Copy(io.Discard, r)
}

// readRequest consumes an auth request up to its empty line.
func readRequest(c net.Conn) bool {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return false
		}
		if line == "\r\n" {
			return true
		}
	}
}

// trickle is an auth service that sends answer one byte every pause,
// stopping at the first write error (the proxy gave up).
func trickle(answer string, pause time.Duration) func(net.Conn) {
	return func(c net.Conn) {
		if !readRequest(c) {
			return
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		for i := range len(answer) {
			if _, err := c.Write([]byte{answer[i]}); err != nil {
				return
			}
			time.Sleep(pause)
		}
	}
}

// cutOff is an auth service that sends partial and closes the connection.
func cutOff(partial string) func(net.Conn) {
	return func(c net.Conn) {
		if readRequest(c) {
			io.WriteString(c, partial)
		}
	}
}

// okAnswer is an auth answer sending the client to backend, with extra
// header lines before the empty line.
func okAnswer(backend string, extra ...string) string {
	h, p, _ := net.SplitHostPort(backend)
	return "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: " + h + "\r\nAuth-Port: " + p + "\r\n" + strings.Join(extra, "") + "\r\n"
}
