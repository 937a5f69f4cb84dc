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

// scriptedBackend serves every connection on a loopback port with script
// (the connection is closed when it returns) and returns the address.
func scriptedBackend(t testing.TB, script func(c net.Conn)) string {
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

// faultYAML's timeouts are short to keep the tests quick, yet long enough
// for a dialogue to beat them on a loaded machine: `timeout` must not
// expire between the greeting and the credentials of a case that does
// not wait for it.
const faultYAML = `
servers:
  - protocol: imap
    auth_http: http://AUTH/auth
    auth_http_timeout: 1s
    timeout: 2s
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
		{name: "auth-down", auth: nil, steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}, log: []string{`err="connect() failed (111: Connection refused)"`, `outcome="ended before login: connect() failed`}},
		{name: "auth-silent", auth: func(string) string { time.Sleep(3 * time.Second); return "" }, steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}, log: []string{`msg="auth http server 127.0.0.1:`, `err="timed out"`, `outcome="ended before login: timed out"`}},
		{name: "auth-garbage", auth: authReply("\x00\x01\x02 garbage\r\n\r\n"), steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}, log: []string{`err="sent invalid header in response"`}},
		{name: "auth-500", auth: authReply("HTTP/1.0 500 Internal Server Error\r\nContent-Type: text/html\r\n\r\n<h1>boom</h1>"), steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}, log: []string{`err="did not send server or port"`}},
		{name: "auth-hostname-server", auth: authReply("Auth-Status: OK\r\nAuth-Server: backend.example\r\nAuth-Port: 143\r\n\r\n"), steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}, log: []string{`err="sent invalid server address:\"backend.example\""`}},
		{name: "backend-down", auth: okAt(closedPort(t)), steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}, log: []string{`msg="connecting to upstream failed"`, `connection refused`, `outcome="backend login failed"`}},
		{name: "backend-never-greets", auth: okAt(scriptedBackend(t, silent)), steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}, log: []string{`msg="upstream timed out"`, `outcome="backend login failed"`}},
		{name: "backend-greets-then-closes", auth: okAt(scriptedBackend(t, greetThenClose)), steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}, log: []string{`msg="upstream login failed"`, `EOF || connection reset by peer`, `outcome="backend login failed"`}},
		{name: "backend-garbage", auth: okAt(scriptedBackend(t, garbage)), steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}, log: []string{`level=ERROR msg="upstream sent invalid response"`, `text="\x00\xff garbage"`}},
		{name: "backend-rejects", auth: okAt(scriptedBackend(t, rejecting)), steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<* BAD internal server error\r\n", "closed"}, log: []string{`level=ERROR msg="upstream sent invalid response"`, `text="NO [AUTHENTICATIONFAILED] bad"`}},
		{name: "backend-rejects-pass-error", pass: "on", auth: okAt(scriptedBackend(t, rejecting)), steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN u p\r\n", "<a NO [AUTHENTICATIONFAILED] bad\r\n", "closed"}, log: []string{`level=INFO msg="upstream sent invalid response"`, `text="NO [AUTHENTICATIONFAILED] bad"`}},
		{name: "overlong-line", steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN " + strings.Repeat("x", 300) + "\r\n", "<a BAD invalid command\r\n", "closed"}, log: []string{`msg="client sent too long command"`}},
		{name: "oversized-literal", steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN {100000}\r\n", "<+ OK\r\n", ">" + strings.Repeat("y", 300), "<a BAD invalid command\r\n", "closed"}, log: []string{`msg="client sent too long command"`}},
		{name: "binary-junk", steps: []string{"<* OK IMAP4 ready\r\n", ">\x00\x01\x02\xff\xfe\r\n", "<* BAD invalid command\r\n", ">\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n", "<* BAD invalid command\r\n", ">a NOOP\r\n", "<a OK completed\r\n"}, log: []string{`outcome="ended before login: EOF"`}},
		{name: "disconnect-mid-literal", steps: []string{"<* OK IMAP4 ready\r\n", ">a LOGIN {10}\r\n", "<+ OK\r\n", ">abc", "hangup"}, log: []string{`outcome="ended before login: EOF"`}},
		{name: "disconnect-mid-sasl", steps: []string{"<* OK IMAP4 ready\r\n", ">a AUTHENTICATE LOGIN\r\n", "<+ VXNlcm5hbWU6\r\n", ">dXNlcg==\r\n", "<+ UGFzc3dvcmQ6\r\n", "hangup"}, log: []string{`outcome="ended before login: EOF"`}},
		{name: "silent-client-times-out", steps: []string{"<* OK IMAP4 ready\r\n", "closed"}, log: []string{`outcome="client timed out"`}},
		{name: "proxy-header-missing", port: 1, steps: []string{">a NOOP\r\n", "closed"}, log: []string{`msg="reading PROXY protocol failed"`, `err="broken header: \"a NOOP\""`, `outcome="bad PROXY header"`}},
		{name: "proxy-header-malformed", port: 1, steps: []string{">PROXY TCP4 1.2.3.x 1.2.3.4 1 2\r\n", "closed"}, log: []string{`err="broken header: \"PROXY TCP4 1.2.3.x 1.2.3.4 1 2\""`, `outcome="bad PROXY header"`}},
		{name: "proxy-header-not-an-address", port: 1, steps: []string{">PROXY TCP4 " + strings.Repeat("a", 3000) + " 1.2.3.4 1 2\r\n", "closed"}, log: []string{`msg="reading PROXY protocol failed"`, `outcome="bad PROXY header"`}},
		{name: "proxy-header-wrong-family", port: 1, steps: []string{">PROXY TCP4 2001:db8::1 1.2.3.4 1 2\r\n", "closed"}, log: []string{`err="broken header: \"PROXY TCP4 2001:db8::1 1.2.3.4 1 2\""`, `outcome="bad PROXY header"`}},
		{name: "proxy-header-never-sent", port: 1, steps: []string{"closed"}, log: []string{`msg="reading PROXY protocol failed"`, `i/o timeout`, `outcome="bad PROXY header"`}},
	}
	runFaults(t, faultYAML, "* OK IMAP4 ready\r\n", "o NOOP\r\n", "o OK completed\r\n", cases)
	_ = be
}

// faultCase is one misbehaving peer and the dialogue the client has with
// the proxy meanwhile: "<bytes" expected, ">bytes" sent, "slow>bytes"
// sent one byte every 400 ms (write errors ignored: the proxy may close
// meanwhile), "quiet" (nothing arrives for half a second), "halfclose" (the
// client shuts down its sending side), "closed" (the proxy closes without
// another byte), "hangup" (the client goes away).
type faultCase struct {
	name string
	pass string // "on": proxy_pass_error_message
	// auth answers each auth request; authConn, when set instead, is the
	// whole auth service connection (reads the request itself).
	auth     func(string) string
	authConn func(c net.Conn)
	port     int // listener index
	steps    []string
	// log holds substrings that must appear in this session's log lines
	// (those naming the case's client address), summary line included;
	// "a || b" is satisfied by either.
	log []string
}

// runFaults plays each case against a proxy started from yaml (PASS is
// replaced by the proxy_pass_error_message value), then checks that
// another client still gets greeting and an answer to probe, that no
// session is left, and that the case's session logged what it should; at
// the end, that no goroutine, descriptor or heap memory leaked.
func runFaults(t *testing.T, yaml, greeting, probe, probeReply string, cases []faultCase) {
	t.Helper()
	baseline := runtime.NumGoroutine()
	baseFDs := openFDs(t)
	baseHeap, baseLogCap := heapInUse(), logCap()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if len(c.log) == 0 {
				t.Fatal("a fault case must name the log line it produces")
			}
			var auth string
			switch {
			case c.authConn != nil:
				auth = scriptedBackend(t, c.authConn)
			case c.auth != nil:
				auth = startAuth(t, c.auth).addr()
			default:
				auth = closedPort(t)
			}
			y := strings.Replace(yaml, "PASS", map[bool]string{true: "true", false: "false"}[c.pass == "on"], 1)
			srv, addrs := startProxy(t, y, auth)
			conv := dialRaw(t, addrs[c.port])
			client := conv.c.LocalAddr().String()
			for _, s := range c.steps {
				switch {
				case s == "closed":
					conv.expectClosed()
				case s == "hangup":
					conv.c.Close()
				case s == "halfclose":
					must(t, conv.c.(*net.TCPConn).CloseWrite())
				case s == "quiet":
					conv.expectQuiet()
				case strings.HasPrefix(s, "slow>"):
					conv.sendSlowly(s[len("slow>"):])
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
			logs := sessionLogs(client)
			for _, want := range c.log {
				if !containsAny(logs, strings.Split(want, " || ")) {
					t.Errorf("no log line of this session contains %q; its lines:\n%s", want, logs)
				}
			}
		})
	}
	waitFor(t, func() bool { return runtime.NumGoroutine() <= baseline+2 }, fmt.Sprintf("goroutines back to %d", baseline))
	// Every case's listeners, auth servers and backends are closed by its
	// cleanup; what remains open must be what was open before. The pipes
	// Go keeps pooled for splice(2) close when the pool is collected.
	fdsBack := func() bool { runtime.GC(); runtime.GC(); return openFDs(t) <= baseFDs+2 }
	if !pollUntil(fdsBack) {
		t.Fatalf("descriptors not back to %d; open now: %s", baseFDs, fdList())
	}
	checkHeap(t, baseHeap, baseLogCap)
}

// sessionLogs returns the log lines, from every proxy of the package,
// that name client (the client address as the proxy saw it at accept).
func sessionLogs(client string) string {
	var b strings.Builder
	for _, line := range strings.Split(testLogs.String(), "\n") {
		if strings.Contains(line, "client="+client+" ") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// heapMargin is how much more live heap than before the cases is
// tolerated after them: allocator and runtime noise, not a session's
// worth of buffers times the number of cases.
const heapMargin = 1 << 20

// heapInUse returns the live heap after a full collection (twice, so that
// sync.Pool contents, kept one cycle as victims, are gone too).
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// logCap is the capacity of the package's log buffer, which keeps every
// line on purpose and so grows by design.
func logCap() int {
	return testLogs.Cap()
}

// checkHeap fails when the live heap, less the log buffer's growth, ends
// more than heapMargin above base: memory some session kept.
func checkHeap(t *testing.T, base uint64, baseLogCap int) {
	t.Helper()
	var now uint64
	allowed := base + heapMargin
	for range 50 { // finalizers and exiting goroutines may free a little late
		now = heapInUse()
		allowed = base + heapMargin + uint64(max(0, logCap()-baseLogCap))
		if now <= allowed {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("live heap %d bytes after the cases, %d before: %d more than the log buffer's growth and a %d margin", now, base, now-allowed, heapMargin)
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	must(t, err)
	return len(ents)
}

// fdList names this process's open descriptors, for failure messages.
func fdList() string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var out []string
	for _, e := range ents {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		out = append(out, e.Name()+"->"+target)
	}
	return strings.Join(out, " ")
}

// pollUntil reports whether cond became true within 5 s.
func pollUntil(cond func() bool) bool {
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
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

// expectQuiet checks that nothing arrives, and the connection stays open,
// for half a second.
func (r *rawConn) expectQuiet() {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	b, err := r.r.ReadByte()
	if err == nil {
		r.t.Fatalf("expected silence, got %q", b)
	}
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		r.t.Fatalf("expected silence, got %v", err)
	}
}

// sendSlowly writes s one byte every 400 ms, as a slowloris client does;
// it stops at the first write error (the proxy closed the connection).
func (r *rawConn) sendSlowly(s string) {
	for i := range len(s) {
		r.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := r.c.Write([]byte{s[i]}); err != nil {
			return
		}
		time.Sleep(400 * time.Millisecond)
	}
}

// containsAny reports whether s contains one of subs.
func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
