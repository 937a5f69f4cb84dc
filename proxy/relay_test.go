package proxy_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// relayYAML serves plain IMAP; sessions that reach the splice stage are
// parked in the server's poller (proxy/relay.go).
const relayYAML = `
servers:
  - protocol: imap
    auth_http: http://AUTH/auth
    proxy_timeout: PT
    listen: [127.0.0.1:0]
`

// echoBackend greets, accepts any LOGIN, then answers each line L with
// "* L" (and "BYE" by closing; "BIG n" with n bytes of 'x' then CRLF).
func echoBackend(t testing.TB) string {
	return scriptedBackend(t, func(c net.Conn) {
		io.WriteString(c, "* OK ready\r\n")
		r := bufio.NewReader(c)
		// The proxy logs in with LOGIN and two literals (SPEC §11.2).
		first, err := r.ReadString('\n')
		if err != nil {
			return
		}
		for range 2 {
			io.WriteString(c, "+ go\r\n")
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
		}
		tag, _, _ := strings.Cut(first, " ")
		io.WriteString(c, tag+" OK logged in\r\n")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			var n int
			_, scanErr := fmt.Sscanf(line, "BIG %d", &n)
			switch {
			case line == "BYE":
				return
			case scanErr == nil && n > 0:
				w := bufio.NewWriter(c)
				w.WriteString(strings.Repeat("x", n))
				w.WriteString("\r\n")
				if w.Flush() != nil {
					return
				}
			default:
				if _, err := io.WriteString(c, "* "+line+"\r\n"); err != nil {
					return
				}
			}
		}
	})
}

func startRelayProxy(t *testing.T, proxyTimeout string) (*serverHandle, string) {
	t.Helper()
	auth := startAuth(t, okTo(echoBackend(t)))
	srv, addrs := startProxy(t, strings.Replace(relayYAML, "PT", proxyTimeout, 1), auth.addr())
	return &serverHandle{srv}, addrs[0]
}

// relayLogin opens a session through addr and logs in as user.
func relayLogin(t *testing.T, addr, user string) *rawConn {
	t.Helper()
	c := dialRaw(t, addr)
	c.expect("* OK IMAP4 ready\r\n")
	c.send("a LOGIN " + user + " pw\r\n")
	c.expect("a OK logged in\r\n")
	return c
}

var userSeq atomic.Int64

// uniqueUser returns name with a suffix no other call returns, so that a
// test (also under -count=N) finds its own session's summary line.
func uniqueUser(name string) string {
	return fmt.Sprintf("%s-%d", name, userSeq.Add(1))
}

// sessionLine waits for the summary line of user's session and returns it.
func sessionLine(t *testing.T, user string) string {
	t.Helper()
	var line string
	waitFor(t, func() bool {
		for _, l := range strings.Split(testLogs.String(), "\n") {
			if strings.Contains(l, `msg="session done"`) && strings.Contains(l, " login="+user+" ") {
				line = l
				return true
			}
		}
		return false
	}, "the session line of "+user)
	return line
}

// TestParkedSessionsHoldNoGoroutine: a logged-in, idle, plain session has
// no goroutine in the proxy (only the test backend's one per session),
// and every session still relays both ways afterwards.
func TestParkedSessionsHoldNoGoroutine(t *testing.T) {
	h, addr := startRelayProxy(t, "1h")
	const n = 100
	base := runtime.NumGoroutine()
	conns := make([]*rawConn, n)
	seventh := ""
	for i := range conns {
		user := uniqueUser("parked")
		if i == 7 {
			seventh = user
		}
		conns[i] = relayLogin(t, addr, user)
	}
	waitFor(t, func() bool { return h.srv.Sessions() == n }, "sessions")
	// n backend goroutines; the proxy may add a few of its own at most.
	if g := runtime.NumGoroutine() - base; g > n+10 {
		t.Fatalf("%d idle sessions added %d goroutines, want at most %d", n, g, n+10)
	}
	for round := range 3 {
		for i, c := range conns {
			c.send(fmt.Sprintf("r%d-%d\r\n", round, i))
		}
		for i, c := range conns {
			c.expect(fmt.Sprintf("* r%d-%d\r\n", round, i))
		}
	}
	for _, c := range conns {
		c.c.Close()
	}
	waitFor(t, func() bool { return h.srv.Sessions() == 0 }, "sessions to end")
	if l := sessionLine(t, seventh); !strings.Contains(l, `outcome="client closed"`) || !strings.Contains(l, "bytes_to_backend=18 ") {
		t.Fatalf("summary: %s", l)
	}
}

// serverHandle names the proxy under test.
type serverHandle struct{ srv interface{ Sessions() int } }

// TestParkedSessionEnds: each way a parked session can end gives the
// client and the backend what nginx gives them, and the right summary.
func TestParkedSessionEnds(t *testing.T) {
	t.Run("backend-closes", func(t *testing.T) {
		_, addr := startRelayProxy(t, "1h")
		user := uniqueUser("endbackend")
		c := relayLogin(t, addr, user)
		c.send("BYE\r\n")
		c.expectClosed()
		if l := sessionLine(t, user); !strings.Contains(l, `outcome="backend closed"`) {
			t.Fatalf("summary: %s", l)
		}
	})
	t.Run("client-half-closes", func(t *testing.T) {
		// No half-close is propagated (SPEC §11.7): the client's FIN ends
		// the session and the backend's later data is not relayed.
		_, addr := startRelayProxy(t, "1h")
		user := uniqueUser("endhalf")
		c := relayLogin(t, addr, user)
		c.c.(*net.TCPConn).CloseWrite()
		c.expectClosed()
		if l := sessionLine(t, user); !strings.Contains(l, `outcome="client closed"`) {
			t.Fatalf("summary: %s", l)
		}
	})
	t.Run("idle-timeout", func(t *testing.T) {
		_, addr := startRelayProxy(t, "1s")
		user := uniqueUser("endidle")
		c := relayLogin(t, addr, user)
		start := time.Now()
		c.expectClosed()
		if d := time.Since(start); d < 900*time.Millisecond {
			t.Fatalf("closed after %v, before proxy_timeout", d)
		}
		l := sessionLine(t, user)
		if !strings.Contains(l, `outcome=proxy_timeout`) {
			t.Fatalf("summary: %s", l)
		}
		if !strings.Contains(testLogs.String(), `msg="client timed out while proxying"`) {
			t.Fatal("no timeout line")
		}
	})
	t.Run("client-activity-rearms-timeout", func(t *testing.T) {
		_, addr := startRelayProxy(t, "1s")
		user := uniqueUser("endactive")
		c := relayLogin(t, addr, user)
		for i := range 8 { // 2.4 s of activity, more than twice proxy_timeout
			time.Sleep(300 * time.Millisecond)
			c.send(fmt.Sprintf("n%d\r\n", i))
			c.expect(fmt.Sprintf("* n%d\r\n", i))
		}
		c.expectClosed()
		if l := sessionLine(t, user); !strings.Contains(l, `outcome=proxy_timeout`) {
			t.Fatalf("summary: %s", l)
		}
	})
	t.Run("server-close", func(t *testing.T) {
		auth := startAuth(t, okTo(echoBackend(t)))
		srv, addrs := startProxy(t, strings.Replace(relayYAML, "PT", "1h", 1), auth.addr())
		user := uniqueUser("endserver")
		c := relayLogin(t, addrs[0], user)
		waitFor(t, func() bool { return srv.Sessions() == 1 }, "the session")
		done := make(chan struct{})
		go func() { srv.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not end a parked session")
		}
		c.expectClosed()
		if l := sessionLine(t, user); !strings.Contains(l, `outcome="closed by server"`) {
			t.Fatalf("summary: %s", l)
		}
	})
}

// TestParkedSessionBulk: megabytes both ways at once arrive intact, and
// the summary counts every byte.
func TestParkedSessionBulk(t *testing.T) {
	_, addr := startRelayProxy(t, "1h")
	user := uniqueUser("bulk")
	c := relayLogin(t, addr, user)
	const big = 4 << 20
	var wg sync.WaitGroup
	var up bytes.Buffer
	for i := range 2000 {
		fmt.Fprintf(&up, "line %d %s\r\n", i, strings.Repeat("u", 1000))
	}
	up.WriteString("BIG " + fmt.Sprint(big) + "\r\n")
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.c.SetWriteDeadline(time.Now().Add(20 * time.Second))
		c.c.Write(up.Bytes())
	}()
	want := sha256.New()
	for i := range 2000 {
		fmt.Fprintf(want, "* line %d %s\r\n", i, strings.Repeat("u", 1000))
	}
	want.Write([]byte(strings.Repeat("x", big) + "\r\n"))
	got := sha256.New()
	wantLen := int64(up.Len()-len("BIG 4194304\r\n")) + 2*2000 + big + 2
	c.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if n, err := io.CopyN(got, c.r, wantLen); err != nil {
		t.Fatalf("read %d of %d bytes: %v", n, wantLen, err)
	}
	wg.Wait()
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatal("the relayed bytes differ")
	}
	c.c.Close()
	l := sessionLine(t, user)
	if !strings.Contains(l, fmt.Sprintf("bytes_to_backend=%d ", up.Len())) || !strings.Contains(l, fmt.Sprintf("bytes_to_client=%d ", wantLen+int64(len("a OK logged in\r\n")))) {
		t.Fatalf("summary: %s", l)
	}
}
