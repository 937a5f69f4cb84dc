package proxy_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// rejectingBackend greets like an IMAP server and answers LOGIN with NO.
func scriptedBackend(t *testing.T, script func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); script(c) }()
		}
	}()
	return ln.Addr().String()
}

func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func authReply(s string) func(string) string { return func(string) string { return s } }

const faultYAML = `
servers:
  - protocol: imap
    auth_http: http://AUTH/auth
    auth_http_timeout: 1s
    timeout: 1s
    imap_client_buffer: 256
    proxy_pass_error_message: PASS
    listen:
      - 127.0.0.1:0
      - {address: "127.0.0.1:0", proxy_protocol: true}
    set_real_ip_from: [192.0.2.0/24]
`

// TestFaults drives every broken peer the proxy must survive and checks the
// exact reply, that other clients are still served, and that no session or
// goroutine is left behind.
func TestFaults(t *testing.T) {
	be := startIMAPBackend(t)
	hostPort := func(a string) (string, string) { h, p, _ := net.SplitHostPort(a); return h, p }
	okAt := func(addr string) func(string) string {
		h, p := hostPort(addr)
		return authReply("HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: " + h + "\r\nAuth-Port: " + p + "\r\n\r\n")
	}
	silent := func(c net.Conn) { io.Copy(io.Discard, c) }
	rejecting := func(c net.Conn) {
		io.WriteString(c, "* OK ready\r\n")
		buf := make([]byte, 512)
		c.Read(buf)
		io.WriteString(c, "+ go\r\n")
		c.Read(buf)
		io.WriteString(c, "+ go\r\n")
		c.Read(buf)
		io.WriteString(c, "a NO [AUTHENTICATIONFAILED] bad\r\n")
		time.Sleep(time.Second)
	}
	greetThenClose := func(c net.Conn) { io.WriteString(c, "* OK ready\r\n") }
	garbage := func(c net.Conn) { c.Write([]byte("\x00\xff garbage\r\n")) }

	cases := []faultCase{
		{name: "auth-down", auth: nil, steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}},
		{name: "auth-silent", auth: func(string) string { time.Sleep(3 * time.Second); return "" }, steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}},
		{name: "auth-garbage", auth: authReply("\x00\x01\x02 garbage\r\n\r\n"), steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}},
		{name: "auth-500", auth: authReply("HTTP/1.0 500 Internal Server Error\r\nContent-Type: text/html\r\n\r\n<h1>boom</h1>"), steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}},
		{name: "auth-hostname-server", auth: authReply("Auth-Status: OK\r\nAuth-Server: backend.example\r\nAuth-Port: 143\r\n\r\n"), steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}},
		{name: "backend-down", auth: okAt(closedPort(t)), steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}},
		{name: "backend-never-greets", auth: okAt(scriptedBackend(t, silent)), steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}},
		{name: "backend-greets-then-closes", auth: okAt(scriptedBackend(t, greetThenClose)), steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}},
		{name: "backend-garbage", auth: okAt(scriptedBackend(t, garbage)), steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}},
		{name: "backend-rejects", auth: okAt(scriptedBackend(t, rejecting)), steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}},
		{name: "backend-rejects-pass-error", pass: "on", auth: okAt(scriptedBackend(t, rejecting)), steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<a NO [AUTHENTICATIONFAILED] bad\r\n", "closed"}},
		{name: "overlong-line", steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN " + strings.Repeat("x", 300) + "\r\n", "<a BAD invalid command\r\n", "closed"}},
		{name: "oversized-literal", steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN {100000}\r\n", "<+ OK\r\n", ">" + strings.Repeat("y", 300), "<a BAD invalid command\r\n", "closed"}},
		{name: "binary-junk", steps: []string{"<* OK IMAP4 ready\r\n", ">\x00\x01\x02\xff\xfe\r\n", "<* BAD invalid command\r\n", ">\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n", "<* BAD invalid command\r\n", ">a NOOP\r\n", "<a OK completed\r\n"}},
		{name: "disconnect-mid-literal", steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN {10}\r\n", "<+ OK\r\n", ">abc", "hangup"}},
		{name: "disconnect-mid-sasl", steps: []string{"<* OK IMAP4 ready\r\n", ">a AUTHENTICATE LOGIN\r\n", "<+ VXNlcm5hbWU6\r\n", ">dXNlcg==\r\n", "<+ UGFzc3dvcmQ6\r\n", "hangup"}},
		{name: "silent-client-times-out", steps: []string{"<* OK IMAP4 ready\r\n", "closed"}},
		{name: "proxy-header-missing", port: 1, steps: []string{">a NOOP\r\n", "closed"}},
		{name: "proxy-header-malformed", port: 1, steps: []string{">PROXY TCP4 1.2.3.x 1.2.3.4 1 2\r\n", "closed"}},
		{name: "proxy-header-never-sent", port: 1, steps: []string{"closed"}},
	}
	runFaults(t, faultYAML, "* OK IMAP4 ready\r\n", "o NOOP\r\n", "o OK completed\r\n", cases)
	_ = be
}

// faultCase is one misbehaving peer and the dialogue the client has with
// the proxy meanwhile: "<bytes" expected, ">bytes" sent, "closed" (the
// proxy closes without another byte), "hangup" (the client goes away).
type faultCase struct {
	name  string
	pass  string // "on": proxy_pass_error_message
	auth  func(string) string
	port  int // listener index
	steps []string
}

// runFaults plays each case against a proxy started from yaml (PASS is
// replaced by the proxy_pass_error_message value), then checks that
// another client still gets greeting and an answer to probe, that no
// session is left, and at the end that no goroutine or descriptor leaked.
func runFaults(t *testing.T, yaml, greeting, probe, probeReply string, cases []faultCase) {
	t.Helper()
	baseline := runtime.NumGoroutine()
	baseFDs := openFDs(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var auth string
			if c.auth != nil {
				auth = startAuth(t, c.auth).addr()
			} else {
				auth = closedPort(t)
			}
			y := strings.Replace(yaml, "PASS", map[bool]string{true: "true", false: "false"}[c.pass == "on"], 1)
			srv, addrs := startProxy(t, y, auth)
			conv := dialRaw(t, addrs[c.port])
			for _, s := range c.steps {
				switch {
				case s == "closed":
					conv.expectClosed()
				case s == "hangup":
					conv.c.Close()
				case s[0] == '>':
					conv.send(s[1:])
				case s[0] == '<':
					conv.expect(s[1:])
				}
			}
			// The proxy still serves everyone else.
			other := dialRaw(t, addrs[0])
			other.expect(greeting)
			other.send(probe)
			other.expect(probeReply)
			other.c.Close()
			conv.c.Close()
			waitFor(t, func() bool { return srv.Sessions() == 0 }, "sessions to end")
		})
	}
	waitFor(t, func() bool { return runtime.NumGoroutine() <= baseline+2 }, fmt.Sprintf("goroutines back to %d", baseline))
	// Every case's listeners, auth servers and backends are closed by its
	// cleanup; what remains open must be what was open before.
	waitFor(t, func() bool { return openFDs(t) <= baseFDs+2 }, fmt.Sprintf("descriptors back to %d", baseFDs))
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	must(t, err)
	return len(ents)
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("timed out waiting for %s\n%s", what, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWaitWithoutDelayIsRetriedOnce: Auth-Status: WAIT without a positive
// Auth-Wait is repeated after a pause, and the next answer is judged on
// its own (nginx would treat every later answer as WAIT, SPEC §10.5).
func TestWaitWithoutDelayIsRetriedOnce(t *testing.T) {
	be := startIMAPBackend(t)
	h, p, _ := net.SplitHostPort(be.Addr())
	n := 0
	auth := startAuth(t, func(string) string {
		n++
		if n == 1 {
			return "HTTP/1.0 200 OK\r\nAuth-Status: WAIT\r\n\r\n"
		}
		return "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: " + h + "\r\nAuth-Port: " + p + "\r\n\r\n"
	})
	_, addrs := startProxy(t, imapYAML, auth.addr())
	c := dialRaw(t, addrs[0])
	c.expect("* OK IMAP4 ready\r\n")
	start := time.Now()
	c.send("a LOGIN alice secret\r\n")
	c.c.SetReadDeadline(deadline())
	line, err := c.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "a OK") {
		t.Fatalf("login after WAIT: %q %v", line, err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("WAIT retried after %v, want a pause of about a second", d)
	}
	if got := len(auth.requests()); got != 2 {
		t.Fatalf("%d auth requests, want 2", got)
	}
}
