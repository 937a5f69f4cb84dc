package authhttp

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestReusable(t *testing.T) {
	cases := []struct {
		head string
		body int
		ok   bool
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, true},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nAuth-Status: OK\r\n\r\n", 5, true},
		{"HTTP/1.1 200 OK\r\ncontent-length:  7 \r\nCONNECTION: Keep-Alive\r\n\r\n", 7, true},
		{"HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", 0, true},
		{"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0, false},                      // 1.0 closes by default
		{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 0, false}, // asked to close
		{"HTTP/1.1 200 OK\r\n\r\n", 0, false},                                           // no framing
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 0, false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 0, false},
		{"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n", 0, false},
		{"Auth-Status: OK\r\nContent-Length: 0\r\n\r\n", 0, false}, // no status line
	}
	for _, c := range cases {
		body, ok := reusable([]byte(c.head))
		if ok != c.ok || (ok && body != c.body) {
			t.Errorf("reusable(%q) = %d, %v; want %d, %v", c.head, body, ok, c.body, c.ok)
		}
	}
}

// kaServer answers every request on a connection with answer(i), i
// counting requests on that connection from 0, until answer returns "".
type kaServer struct {
	ln       net.Listener
	accepted atomic.Int32
	mu       sync.Mutex
	reqs     []string
	wg       sync.WaitGroup
}

func newKAServer(t *testing.T, answer func(i int) string) *kaServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &kaServer{ln: ln}
	var conns sync.Map
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			conns.Store(c, true)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				r := bufio.NewReader(c)
				for i := 0; ; i++ {
					var req strings.Builder
					for {
						line, err := r.ReadString('\n')
						req.WriteString(line)
						if err != nil {
							return
						}
						if line == "\r\n" {
							break
						}
					}
					s.mu.Lock()
					s.reqs = append(s.reqs, req.String())
					s.mu.Unlock()
					a := answer(i)
					if a == "" {
						return
					}
					io.WriteString(c, a)
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		s.wg.Wait()
	})
	return s
}

func kaClient(t *testing.T, s *kaServer, maxIdle int) *Client {
	t.Helper()
	c, err := NewClient(mustURL(t, "http://"+s.ln.Addr().String()+"/auth"), 5*time.Second, []Header{{"X-Auth-Key", "k"}})
	if err != nil {
		t.Fatal(err)
	}
	c.SetKeepAlive(KeepAlive{MaxIdle: maxIdle})
	t.Cleanup(c.CloseIdle)
	return c
}

const kaOK = "HTTP/1.1 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 192.0.2.1\r\nAuth-Port: 143\r\nContent-Length: 5\r\n\r\nhello"

func doOK(t *testing.T, c *Client) {
	t.Helper()
	resp, err := c.Do(context.Background(), imapPlain)
	if err != nil || resp.Status != StatusOK {
		t.Fatalf("Do: %+v %v", resp, err)
	}
}

// TestKeepAliveReuses: answers that allow it keep one connection for
// every request, each request ends with the keep-alive header after the
// configured ones, and the body is consumed.
func TestKeepAliveReuses(t *testing.T) {
	s := newKAServer(t, func(int) string { return kaOK })
	c := kaClient(t, s, 4)
	for range 5 {
		doOK(t, c)
	}
	if n := s.accepted.Load(); n != 1 {
		t.Fatalf("%d connections for 5 requests, want 1", n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.reqs {
		if !strings.HasSuffix(r, "X-Auth-Key: k\r\nConnection: keep-alive\r\n\r\n") {
			t.Fatalf("request ends %q", r[max(0, len(r)-60):])
		}
	}
}

// TestKeepAliveReuseFilter: a kept connection that Reuse refuses for a
// request stays kept for one it accepts: two kinds of caller (two event
// loops) keep one connection each.
func TestKeepAliveReuseFilter(t *testing.T) {
	s := newKAServer(t, func(int) string { return kaOK })
	c := kaClient(t, s, 4)
	type kind struct{}
	owner := map[net.Conn]any{}
	var mu sync.Mutex
	c.Reuse = func(ctx context.Context, conn net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		k := ctx.Value(kind{})
		if o, ok := owner[conn]; ok {
			return o == k
		}
		owner[conn] = k // first use: the dialing caller's kind
		return true
	}
	dial := c.Dial
	c.Dial = func(ctx context.Context, network, address string) (net.Conn, error) {
		if dial == nil {
			dial = (&net.Dialer{}).DialContext
		}
		conn, err := dial(ctx, network, address)
		if err == nil {
			mu.Lock()
			owner[conn] = ctx.Value(kind{})
			mu.Unlock()
		}
		return conn, err
	}
	for i := range 6 {
		ctx := context.WithValue(context.Background(), kind{}, i%2)
		if resp, err := c.Do(ctx, imapPlain); err != nil || resp.Status != StatusOK {
			t.Fatalf("Do: %+v %v", resp, err)
		}
	}
	if n := s.accepted.Load(); n != 2 {
		t.Fatalf("%d connections for 6 requests of two kinds, want 2", n)
	}
}

// TestKeepAliveOffIsNginx: without SetKeepAlive the request has no
// Connection header and every request has its own connection.
func TestKeepAliveOffIsNginx(t *testing.T) {
	s := newKAServer(t, func(int) string { return kaOK })
	c, err := NewClient(mustURL(t, "http://"+s.ln.Addr().String()+"/auth"), 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		doOK(t, c)
	}
	if n := s.accepted.Load(); n != 3 {
		t.Fatalf("%d connections for 3 requests, want 3", n)
	}
	if strings.Contains(s.reqs[0], "Connection") {
		t.Fatalf("request has a Connection header: %q", s.reqs[0])
	}
}

// TestKeepAliveRefused: an answer that does not allow reuse closes the
// connection, as nginx always does.
func TestKeepAliveRefused(t *testing.T) {
	for _, a := range []string{
		"HTTP/1.1 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 192.0.2.1\r\nAuth-Port: 143\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 192.0.2.1\r\nAuth-Port: 143\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 192.0.2.1\r\nAuth-Port: 143\r\n\r\n",
		"HTTP/1.1 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 192.0.2.1\r\nAuth-Port: 143\r\nContent-Length: 2\r\n\r\nabc",
	} {
		s := newKAServer(t, func(int) string { return a })
		c := kaClient(t, s, 4)
		for range 3 {
			doOK(t, c)
		}
		if n := s.accepted.Load(); n != 3 {
			t.Fatalf("%q: %d connections for 3 requests, want 3", a, n)
		}
	}
}

// TestKeepAliveStale: a kept connection the service closed is replaced
// transparently, once.
func TestKeepAliveStale(t *testing.T) {
	// One answer per connection, then a silent close.
	s := newKAServer(t, func(i int) string {
		if i > 0 {
			return ""
		}
		return kaOK
	})
	c := kaClient(t, s, 4)
	for range 4 {
		doOK(t, c)
	}
	if n := s.accepted.Load(); n != 4 {
		t.Fatalf("%d connections for 4 requests, want 4", n)
	}
}

// TestKeepAliveIdleLimits: no more than MaxIdle connections are kept, and
// CloseIdle closes them.
func TestKeepAliveIdleLimits(t *testing.T) {
	gate := make(chan struct{})
	var once sync.Once
	s := newKAServer(t, func(int) string { <-gate; return kaOK })
	c := kaClient(t, s, 2)
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() { defer wg.Done(); doOK(t, c) }()
	}
	for s.accepted.Load() < 5 {
		time.Sleep(10 * time.Millisecond)
	}
	once.Do(func() { close(gate) })
	wg.Wait()
	c.pool.mu.Lock()
	idle := len(c.pool.idle)
	c.pool.mu.Unlock()
	if idle != 2 {
		t.Fatalf("%d idle connections kept, want 2", idle)
	}
	c.CloseIdle()
	c.pool.mu.Lock()
	idle = len(c.pool.idle)
	c.pool.mu.Unlock()
	if idle != 0 {
		t.Fatalf("%d idle connections after CloseIdle", idle)
	}
	doOK(t, c) // still works, on a new connection that is not kept
	if n := s.accepted.Load(); n != 6 {
		t.Fatalf("%d connections, want 6", n)
	}
}
