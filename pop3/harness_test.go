package pop3

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

// The shared harness, under the names these tests use.
var (
	tcpPair = func(t *testing.T) (net.Conn, net.Conn) { return sessiontest.TCPPair(t) }
	ok      = sessiontest.OK
	fail    = sessiontest.Fail
)

type fakeAuth = sessiontest.FakeAuth

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
	sc := &session.Conn{Conn: sv, Timeout: 5 * time.Second, Log: slog.New(slog.DiscardHandler), Authenticate: auth.Do}
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
