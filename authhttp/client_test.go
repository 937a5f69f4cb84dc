package authhttp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// authServer is a loopback auth_http server that records each request and
// answers with a scripted handler.
type authServer struct {
	ln    net.Listener
	mu    sync.Mutex
	reqs  [][]byte
	done  chan struct{}
	wg    sync.WaitGroup
	reply func(c net.Conn)
}

func newAuthServer(t *testing.T, network, address string, reply func(c net.Conn)) *authServer {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Fatal(err)
	}
	s := &authServer{ln: ln, done: make(chan struct{}), reply: reply}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		ln.Close()
		close(s.done)
		s.wg.Wait()
	})
	return s
}

func (s *authServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			req, err := readRequest(c)
			s.mu.Lock()
			s.reqs = append(s.reqs, req)
			s.mu.Unlock()
			if err == nil {
				s.reply(c)
			}
		}()
	}
}

// readRequest reads up to and including the first empty line.
func readRequest(c net.Conn) ([]byte, error) {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	var req []byte
	buf := make([]byte, 512)
	for !bytes.Contains(req, []byte("\r\n\r\n")) {
		n, err := c.Read(buf)
		req = append(req, buf[:n]...)
		if err != nil {
			return req, err
		}
	}
	return req, nil
}

func (s *authServer) requests() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.reqs...)
}

func (s *authServer) client(t *testing.T, timeout time.Duration) *Client {
	t.Helper()
	raw := "http://" + s.ln.Addr().String() + "/auth"
	if s.ln.Addr().Network() == "unix" {
		raw = "unix:" + s.ln.Addr().String() + ":/auth"
	}
	c, err := NewClient(mustURL(t, raw), timeout, []Header{{"X-Auth-Key", "k"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// send writes chunks with a pause between them.
func send(gap time.Duration, chunks ...string) func(c net.Conn) {
	return func(c net.Conn) {
		for i, ch := range chunks {
			if i > 0 {
				time.Sleep(gap)
			}
			if _, err := io.WriteString(c, ch); err != nil {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hold answers nothing until the client goes away.
func hold(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

const okAnswer = "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: 14001\r\n\r\n"

func transportKind(err error) TransportErrorKind {
	var te *TransportError
	if errors.As(err, &te) {
		return te.Kind
	}
	return 0
}

func TestDoOneConnectionPerRequest(t *testing.T) {
	s := newAuthServer(t, "tcp", "127.0.0.1:0", send(0, okAnswer))
	c := s.client(t, 2*time.Second)
	for range 3 {
		resp, err := c.Do(context.Background(), imapPlain)
		if err != nil {
			t.Fatal(err)
		}
		if *resp != *okResp() {
			t.Fatalf("got %+v", *resp)
		}
	}
	want := AppendRequest(nil, "127.0.0.1", "/auth", imapPlain, []Header{{"X-Auth-Key", "k"}})
	reqs := s.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d connections, want 3", len(reqs))
	}
	for _, r := range reqs {
		if !bytes.Equal(r, want) {
			t.Fatalf("request %s\nwant %s", quoteLines(r), quoteLines(want))
		}
	}
}

func TestDoResponseInPieces(t *testing.T) {
	s := newAuthServer(t, "tcp", "127.0.0.1:0", send(30*time.Millisecond,
		"HTTP/1.0 200 OK\r\nAuth-Sta", "tus: OK\r\nAuth-Server: 127.0.0.1\r", "\nAuth-Port: 14001\r\n", "\r", "\n"))
	resp, err := s.client(t, 2*time.Second).Do(context.Background(), imapPlain)
	if err != nil || *resp != *okResp() {
		t.Fatalf("got %v, %v", resp, err)
	}
}

func TestDoByteByByte(t *testing.T) {
	chunks := strings.Split(okAnswer, "")
	s := newAuthServer(t, "tcp", "127.0.0.1:0", send(time.Millisecond, chunks...))
	resp, err := s.client(t, 5*time.Second).Do(context.Background(), imapPlain)
	if err != nil || *resp != *okResp() {
		t.Fatalf("got %v, %v", resp, err)
	}
}

func TestDoWaitIsNotRetried(t *testing.T) {
	s := newAuthServer(t, "tcp", "127.0.0.1:0", send(0, "HTTP/1.0 200 OK\r\nAuth-Status: WAIT\r\nAuth-Wait: 1\r\n\r\n"))
	resp, err := s.client(t, 2*time.Second).Do(context.Background(), imapPlain)
	if err != nil || resp.Status != StatusWait || resp.Wait != time.Second {
		t.Fatalf("got %+v, %v", resp, err)
	}
	if n := len(s.requests()); n != 1 {
		t.Fatalf("%d connections", n)
	}
}

func TestDoTimeoutWithoutAnswer(t *testing.T) {
	s := newAuthServer(t, "tcp", "127.0.0.1:0", hold)
	c := s.client(t, 200*time.Millisecond)
	start := time.Now()
	_, err := c.Do(context.Background(), imapPlain)
	elapsed := time.Since(start)
	if transportKind(err) != TimedOut {
		t.Fatalf("error %v, want timed out", err)
	}
	if elapsed < 190*time.Millisecond || elapsed > 2*time.Second {
		t.Fatalf("timed out after %v", elapsed)
	}
	if msg := LogMessage(c.Addr(), err); msg != "auth http server "+c.Addr()+" timed out (110: Connection timed out)" {
		t.Fatalf("log %q", msg)
	}
}

// Data arriving does not extend the deadline (nginx never re-arms it).
func TestDoTimeoutWhileTrickling(t *testing.T) {
	s := newAuthServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		for i := 0; ; i++ {
			if _, err := io.WriteString(c, "X-A: 1\r\n"[i%8:i%8+1]); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	start := time.Now()
	_, err := s.client(t, 300*time.Millisecond).Do(context.Background(), imapPlain)
	if elapsed := time.Since(start); transportKind(err) != TimedOut || elapsed > 2*time.Second {
		t.Fatalf("error %v after %v, want timed out after 300ms", err, elapsed)
	}
}

// The timeout counts from the start of the connect.
func TestDoTimeoutIncludesConnect(t *testing.T) {
	s := newAuthServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		time.Sleep(150 * time.Millisecond)
		send(0, okAnswer)(c)
	})
	c := s.client(t, 250*time.Millisecond)
	c.Dial = func(ctx context.Context, network, address string) (net.Conn, error) {
		time.Sleep(150 * time.Millisecond)
		var d net.Dialer
		return d.DialContext(ctx, network, address)
	}
	if _, err := c.Do(context.Background(), imapPlain); transportKind(err) != TimedOut {
		t.Fatalf("error %v, want timed out", err)
	}
}

func TestDoContextCanceled(t *testing.T) {
	s := newAuthServer(t, "tcp", "127.0.0.1:0", hold)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := s.client(t, 5*time.Second).Do(ctx, imapPlain)
	if transportKind(err) != Canceled || !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Fatalf("error %v after %v, want canceled", err, time.Since(start))
	}
}

func TestDoClosedBeforeBlankLine(t *testing.T) {
	s := newAuthServer(t, "tcp", "127.0.0.1:0", send(0, "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: 14001\r\n"))
	_, err := s.client(t, 2*time.Second).Do(context.Background(), imapPlain)
	if transportKind(err) != ClosedEarly {
		t.Fatalf("error %v, want closed early", err)
	}
}

func TestDoClosedWithoutAnswer(t *testing.T) {
	s := newAuthServer(t, "tcp", "127.0.0.1:0", func(net.Conn) {})
	_, err := s.client(t, 2*time.Second).Do(context.Background(), imapPlain)
	if transportKind(err) != ClosedEarly {
		t.Fatalf("error %v, want closed early", err)
	}
}

func TestDoHeadSizeLimit(t *testing.T) {
	for _, tt := range []struct {
		name  string
		reply func(net.Conn)
		kind  TransportErrorKind
	}{
		{"1024 bytes then close", send(0, pad(1024)), 0},
		{"1025 bytes then close", send(0, pad(1025)), HeadTooLarge},
		{"1025 bytes in pieces", send(10*time.Millisecond, pad(1025)[:1000], pad(1025)[1000:]), HeadTooLarge},
		{"2000 bytes then hold", func(c net.Conn) { send(0, pad(2000))(c); hold(c) }, HeadTooLarge},
		// nginx waits for the next read event: none comes, so it times out
		{"exactly 1024 incomplete then hold", func(c net.Conn) { send(0, pad(1025)[:1024])(c); hold(c) }, TimedOut},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newAuthServer(t, "tcp", "127.0.0.1:0", tt.reply)
			resp, err := s.client(t, 300*time.Millisecond).Do(context.Background(), pop3Plain)
			if tt.kind == 0 {
				if err != nil || *resp != *okResp() {
					t.Fatalf("got %v, %v", resp, err)
				}
				return
			}
			if transportKind(err) != tt.kind {
				t.Fatalf("error %v, want kind %d", err, tt.kind)
			}
		})
	}
}

// The body is never read: a large body does not delay the answer.
func TestDoBodyNotRead(t *testing.T) {
	body := strings.Repeat("b", 4<<20)
	s := newAuthServer(t, "tcp", "127.0.0.1:0", send(0, okAnswer+body))
	resp, err := s.client(t, 2*time.Second).Do(context.Background(), imapPlain)
	if err != nil || *resp != *okResp() {
		t.Fatalf("got %v, %v", resp, err)
	}
}

// A syntax error is reported as soon as it arrives, not at the timeout.
func TestDoInvalidHeaderEarly(t *testing.T) {
	s := newAuthServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		send(0, "HTTP/1.0 200 OK\r\nX_Bad: 1\r\n")(c)
		hold(c)
	})
	c := s.client(t, 5*time.Second)
	start := time.Now()
	_, err := c.Do(context.Background(), imapPlain)
	var re *ResponseError
	if !errors.As(err, &re) || re.Kind != InvalidHeader || time.Since(start) > 2*time.Second {
		t.Fatalf("error %v after %v, want invalid header at once", err, time.Since(start))
	}
	if msg := LogMessage(c.Addr(), err); msg != "auth http server "+c.Addr()+" sent invalid header in response" {
		t.Fatalf("log %q", msg)
	}
}

func TestDoDecisionErrors(t *testing.T) {
	s := newAuthServer(t, "tcp", "127.0.0.1:0", send(0, "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: localhost\r\nAuth-Port: 143\r\n\r\n"))
	_, err := s.client(t, 2*time.Second).Do(context.Background(), imapPlain)
	var re *ResponseError
	if !errors.As(err, &re) || re.Kind != InvalidServerAddress || re.Value != "localhost" {
		t.Fatalf("error %v", err)
	}
}

func TestDoConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := NewClient(mustURL(t, addr+"/auth"), time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Do(context.Background(), imapPlain)
	if transportKind(err) != ConnectFailed || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("error %v, want connection refused", err)
	}
	if msg := LogMessage(c.Addr(), err); msg != "connect() failed (111: Connection refused)" {
		t.Fatalf("log %q", msg)
	}
}

func TestDoUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.sock")
	s := newAuthServer(t, "unix", path, send(0, okAnswer))
	c := s.client(t, 2*time.Second)
	if c.Addr() != "unix:"+path {
		t.Fatalf("Addr() = %q", c.Addr())
	}
	resp, err := c.Do(context.Background(), imapPlain)
	if err != nil || *resp != *okResp() {
		t.Fatalf("got %v, %v", resp, err)
	}
	reqs := s.requests()
	if len(reqs) != 1 || !bytes.HasPrefix(reqs[0], []byte("GET /auth HTTP/1.0\r\nHost: localhost\r\n")) {
		t.Fatalf("requests %q", reqs)
	}
}

func TestDoNilRequest(t *testing.T) {
	c, err := NewClient(mustURL(t, "127.0.0.1:1"), time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(context.Background(), nil); err == nil {
		t.Fatal("nil request accepted")
	}
}

func TestDoConcurrent(t *testing.T) {
	s := newAuthServer(t, "tcp", "127.0.0.1:0", send(0, okAnswer))
	c := s.client(t, 5*time.Second)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Do(context.Background(), imapPlain)
			if err != nil || *resp != *okResp() {
				t.Errorf("got %v, %v", resp, err)
			}
		}()
	}
	wg.Wait()
	if n := len(s.requests()); n != 20 {
		t.Fatalf("%d connections", n)
	}
}
