package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/mailtest"
)

// authOK is a minimal auth_http service that sends every user to backend.
func authOK(t *testing.T, backend string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(backend)
	return authAnswering(t, "Auth-Status: OK\r\nAuth-Server: "+host+"\r\nAuth-Port: "+port+"\r\n")
}

// authAnswering is a minimal auth_http service that answers every
// request with headers (CRLF-terminated lines) and returns its address.
func authAnswering(t *testing.T, headers string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					l, err := r.ReadString('\n')
					if err != nil || l == "\r\n" {
						break
					}
				}
				io.WriteString(c, "HTTP/1.0 200 OK\r\n"+headers+"\r\n")
			}()
		}
	}()
	return ln.Addr().String()
}

func imapConfig(listen, auth string) string {
	return fmt.Sprintf(`
servers:
  - protocol: imap
    auth_http: http://%s/auth
    listen: [%q]
`, auth, listen)
}

// login opens a session through the proxy and logs in as alice.
func login(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	if l := readLine(t, c, r); l != "* OK IMAP4 ready\r\n" {
		t.Fatalf("greeting %q", l)
	}
	io.WriteString(c, "a1 LOGIN alice secret\r\n")
	for {
		l := readLine(t, c, r)
		if strings.HasPrefix(l, "a1 ") {
			if !strings.HasPrefix(l, "a1 OK") {
				t.Fatalf("login: %q", l)
			}
			return c, r
		}
	}
}

// TestIdleSessionsHoldTwoDescriptors opens many logged-in sessions and
// leaves them idle: the proxy must hold exactly its two sockets for each
// (no pipes, no extra descriptors), as nginx does.
func TestIdleSessionsHoldTwoDescriptors(t *testing.T) {
	be, err := mailtest.StartIMAPBackend("127.0.0.1:0", map[string]string{"alice": "secret"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	listen := freePort(t)
	p := startBinary(t, imapConfig(listen, authOK(t, be.Addr())))

	// Warm up one session so lazily opened descriptors (epoll, the splice
	// pipe pool) exist before the baseline.
	c, r := login(t, listen)
	io.WriteString(c, "w SELECT INBOX\r\n")
	for !strings.HasPrefix(readLine(t, c, r), "w ") {
	}
	c.Close()
	time.Sleep(200 * time.Millisecond)
	base := p.fds(t)

	const n = 200
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, r := login(t, listen)
		io.WriteString(c, "s SELECT INBOX\r\n")
		for !strings.HasPrefix(readLine(t, c, r), "s ") {
		}
		conns = append(conns, c)
	}
	time.Sleep(300 * time.Millisecond)
	got := p.fds(t) - base
	t.Logf("%d idle sessions: %d descriptors above the baseline of %d", n, got, base)
	if got > 2*n+8 {
		t.Fatalf("%d idle sessions hold %d descriptors, want at most %d", n, got, 2*n+8)
	}
}

// TestPlainSpliceIsZeroCopy moves a large message through a plain-TCP
// session and checks, from /proc/PID/io, that the proxy did not read it
// through read(2): the kernel spliced it (an event loop reads the first
// 16 KiB of a burst, to tell a stream from a small message).
func TestPlainSpliceIsZeroCopy(t *testing.T) {
	be, err := mailtest.StartIMAPBackend("127.0.0.1:0", map[string]string{"alice": "secret"}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	const size = 16 << 20
	msg := mailtest.SizedMessage("alice", size)
	if _, err := be.Append("alice", msg); err != nil {
		t.Fatal(err)
	}
	listen := freePort(t)
	p := startBinary(t, imapConfig(listen, authOK(t, be.Addr())))
	c, r := login(t, listen)
	defer c.Close()
	io.WriteString(c, "s SELECT INBOX\r\n")
	for !strings.HasPrefix(readLine(t, c, r), "s ") {
	}
	before := p.rchar(t)
	io.WriteString(c, "f FETCH 1 BODY.PEEK[]\r\n")
	head := readLine(t, c, r)
	var lit int
	if i := strings.LastIndexByte(head, '{'); i < 0 {
		t.Fatalf("fetch reply %q", head)
	} else {
		fmt.Sscanf(head[i:], "{%d}", &lit)
	}
	body := make([]byte, lit)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(body) != sha256.Sum256(msg) || !bytes.Equal(body, msg) {
		t.Fatal("message changed in transit")
	}
	read := p.rchar(t) - before
	t.Logf("relayed %d bytes; the proxy read %d bytes through read(2)", lit, read)
	if read > size/16 {
		t.Fatalf("proxy read %d of %d bytes through read(2): the splice path is not used", read, size)
	}
}
