package pop3

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/session"
)

// tcpPair returns two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); ch <- c }()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-ch
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// fakeAuth records requests and answers them in order.
type fakeAuth struct {
	mu      sync.Mutex
	reqs    []authhttp.Request
	answers []*authhttp.Response
}

func (f *fakeAuth) do(_ context.Context, r *authhttp.Request) (*authhttp.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, *r)
	if len(f.answers) == 0 {
		return nil, errors.New("no scripted answer")
	}
	a := f.answers[0]
	f.answers = f.answers[1:]
	return a, nil
}

func (f *fakeAuth) requests() []authhttp.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]authhttp.Request(nil), f.reqs...)
}

func ok(addr string) *authhttp.Response {
	return &authhttp.Response{Status: authhttp.StatusOK, Server: netip.MustParseAddrPort(addr), Upstream: addr}
}

func fail(text string, wait time.Duration) *authhttp.Response {
	return &authhttp.Response{Status: authhttp.StatusFail, Text: text, Wait: wait}
}

type result struct {
	login *session.Login
	err   error
}

// env is one Serve run: the client end of the connection and Serve's
// outcome.
type env struct {
	t    *testing.T
	c    net.Conn
	r    *bufio.Reader
	sc   *session.Conn
	done chan result
}

// serve runs Serve with o (defaults filled in as nginx's) on the server
// end; tweak may adjust the session.Conn before Serve starts.
func serve(t *testing.T, o Options, auth *fakeAuth, tweak ...func(*session.Conn)) *env {
	t.Helper()
	if o.MaxErrors == 0 {
		o.MaxErrors = 5
	}
	if o.Capabilities == nil {
		o.Capabilities = []string{"TOP", "USER", "UIDL"}
	}
	if o.Auth == nil {
		o.Auth = []string{"plain"}
	}
	if o.ServerName == "" {
		o.ServerName = "mx.example.com"
	}
	cl, sv := tcpPair(t)
	sc := &session.Conn{Conn: sv, Timeout: 5 * time.Second, Log: slog.New(slog.DiscardHandler), Authenticate: auth.do}
	for _, f := range tweak {
		f(sc)
	}
	e := &env{t: t, c: cl, r: bufio.NewReader(cl), sc: sc, done: make(chan result, 1)}
	go func() {
		l, err := NewServer(o).Serve(context.Background(), sc)
		e.done <- result{l, err}
	}()
	return e
}

// dialogue plays "C: " lines (sent), "S: " lines (expected exactly) and
// "S* " lines (one line starting with the given text).
func (e *env) dialogue(lines ...string) {
	e.t.Helper()
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "C: "):
			if _, err := io.WriteString(e.c, l[3:]); err != nil {
				e.t.Fatalf("send %q: %v", l[3:], err)
			}
		case strings.HasPrefix(l, "S: "):
			want := l[3:]
			e.c.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, len(want))
			if n, err := io.ReadFull(e.r, buf); err != nil || string(buf) != want {
				e.t.Fatalf("expected %q, got %q (%v)", want, buf[:n], err)
			}
		case strings.HasPrefix(l, "S* "):
			if got := e.line(); !strings.HasPrefix(got, l[3:]) {
				e.t.Fatalf("expected a line starting with %q, got %q", l[3:], got)
			}
		default:
			e.t.Fatalf("bad dialogue line %q", l)
		}
	}
}

// line reads one reply line.
func (e *env) line() string {
	e.t.Helper()
	e.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	s, err := e.r.ReadString('\n')
	if err != nil {
		e.t.Fatalf("reading a line: %q %v", s, err)
	}
	return s
}

// closed expects the server to close the connection without sending more.
func (e *env) closed() {
	e.t.Helper()
	e.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := e.r.ReadByte(); err == nil {
		e.t.Fatalf("unexpected byte %q instead of close", b)
	}
}

// silent expects nothing to arrive for d.
func (e *env) silent(d time.Duration) {
	e.t.Helper()
	e.c.SetReadDeadline(time.Now().Add(d))
	if b, err := e.r.ReadByte(); err == nil {
		e.t.Fatalf("unexpected byte %q", b)
	}
	e.c.SetReadDeadline(time.Time{})
}

// result waits for Serve to return.
func (e *env) result() result {
	e.t.Helper()
	select {
	case r := <-e.done:
		return r
	case <-time.After(10 * time.Second):
		e.t.Fatal("Serve did not return")
	}
	return result{}
}

// closeWith waits for Serve to end with an error matching target, and
// the client to see the close.
func (e *env) closeWith(target error) {
	e.t.Helper()
	res := e.result()
	if !errors.Is(res.err, target) {
		e.t.Fatalf("Serve returned %+v, %v; want %v", res.login, res.err, target)
	}
	e.sc.Conn.Close() // the proxy's job
	e.closed()
}

// login waits for Serve to return a login.
func (e *env) login() *session.Login {
	e.t.Helper()
	res := e.result()
	if res.err != nil || res.login == nil {
		e.t.Fatalf("Serve returned %+v, %v; want a login", res.login, res.err)
	}
	return res.login
}
