package proxy_test

import (
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestAuthKeepAlive: with auth_http_keepalive, logins share connections
// to an auth service built on net/http (which honours keep-alive).
func TestAuthKeepAlive(t *testing.T) {
	be := startIMAPBackend(t)
	host, port, _ := net.SplitHostPort(be.Addr())
	var conns atomic.Int32
	hs := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Connection") != "keep-alive" {
				t.Errorf("request without keep-alive: %v", r.Header)
			}
			w.Header().Set("Auth-Status", "OK")
			w.Header().Set("Auth-Server", host)
			w.Header().Set("Auth-Port", port)
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	yaml := strings.Replace(imapYAML, "  auth_http_header:", "  auth_http_keepalive: 4\n  auth_http_header:", 1)
	_, addrs := startProxy(t, yaml, ln.Addr().String())
	for range 10 {
		c := dialRaw(t, addrs[0])
		c.expect("* OK IMAP4 ready\r\n")
		c.send("a LOGIN alice secret\r\n")
		line, err := c.r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "a OK") {
			t.Fatalf("login: %q %v", line, err)
		}
		c.c.Close()
	}
	// Each event loop keeps its own (none: one for all).
	if n, most := conns.Load(), max(1, testLoops()); n < 1 || int(n) > most {
		t.Fatalf("10 logins used %d auth connections, want 1 to %d", n, most)
	}
}
