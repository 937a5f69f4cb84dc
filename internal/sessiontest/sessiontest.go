// Package sessiontest holds what the front ends' tests share: a loopback
// TCP pair, a scripted auth service standing in for
// session.Conn.Authenticate, and the Harness that runs a front end's
// dialogue against a script.
package sessiontest

import (
	"bufio"
	"context"
	"crypto/tls"
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
	"mailproxy/internal/mailtest"
	"mailproxy/internal/pkitest"
	"mailproxy/internal/session"
)

// TCPPair returns the two ends of a loopback TCP connection, closed when
// the test ends.
func TCPPair(t testing.TB) (client, server net.Conn) {
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

// FakeAuth records every request and answers them with Answers, in order;
// a request beyond them gets an error (the front end's internal error).
type FakeAuth struct {
	mu      sync.Mutex
	reqs    []authhttp.Request
	Answers []*authhttp.Response
}

// Do is a session.Conn.Authenticate.
func (f *FakeAuth) Do(_ context.Context, r *authhttp.Request) (*authhttp.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, *r)
	if len(f.Answers) == 0 {
		return nil, errors.New("no scripted answer")
	}
	a := f.Answers[0]
	f.Answers = f.Answers[1:]
	return a, nil
}

// Requests returns a copy of the requests received so far.
func (f *FakeAuth) Requests() []authhttp.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]authhttp.Request(nil), f.reqs...)
}

// OK is an accepting answer naming the backend addr ("IP:PORT").
func OK(addr string) *authhttp.Response {
	return &authhttp.Response{Status: authhttp.StatusOK, Server: netip.MustParseAddrPort(addr), Upstream: addr}
}

// Fail is a refusal with text, delayed by wait when positive.
func Fail(text string, wait time.Duration) *authhttp.Response {
	return &authhttp.Response{Status: authhttp.StatusFail, Text: text, Wait: wait}
}

// FailSASL is a refusal of an XOAUTH2 or OAUTHBEARER login carrying the
// Auth-Error-SASL challenge, delayed by wait when positive.
func FailSASL(text, challenge string, wait time.Duration) *authhttp.Response {
	return &authhttp.Response{Status: authhttp.StatusFail, Text: text, Wait: wait, ErrorSASL: challenge, HasErrorSASL: true}
}

// ServeFunc is a front end's Serve.
type ServeFunc func(ctx context.Context, c *session.Conn) (*session.Login, error)

// Result is what Serve returned.
type Result struct {
	Login *session.Login
	Err   error
}

// Harness is one Serve run over a loopback pair: the test plays the
// client on C, the front end serves on the other end with FakeAuth as its
// auth service, and its log lines collect in Log.
type Harness struct {
	t    testing.TB
	C    net.Conn
	R    *bufio.Reader
	SC   *session.Conn // what the front end was lent
	Log  *mailtest.SyncBuffer
	done chan Result
}

// Serve starts serve on the server end of a fresh pair. The front end
// sees the client address 192.0.2.10:1234, a 5 s `timeout` and a
// StartTLS that fails, unless tune changes them before Serve starts.
func Serve(t testing.TB, serve ServeFunc, auth *FakeAuth, tune ...func(*session.Conn)) *Harness {
	t.Helper()
	cl, sv := TCPPair(t)
	h := &Harness{t: t, C: cl, R: bufio.NewReader(cl), Log: &mailtest.SyncBuffer{}, done: make(chan Result, 1)}
	h.SC = &session.Conn{
		Conn:         sv,
		Client:       netip.MustParseAddrPort("192.0.2.10:1234"),
		Timeout:      5 * time.Second,
		Log:          slog.New(slog.NewTextHandler(h.Log, nil)),
		Authenticate: auth.Do,
		StartTLS:     func(time.Time) error { return errors.New("no TLS in this test") },
	}
	for _, f := range tune {
		f(h.SC)
	}
	go func() {
		l, err := serve(context.Background(), h.SC)
		h.done <- Result{l, err}
	}()
	return h
}

// Play runs a script: "C: " lines are sent, "S: " lines must arrive
// exactly, an "S* " line is one line starting with the given text.
func (h *Harness) Play(lines ...string) {
	h.t.Helper()
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "C: "):
			if _, err := io.WriteString(h.C, l[3:]); err != nil {
				h.t.Fatalf("send %q: %v", l[3:], err)
			}
		case strings.HasPrefix(l, "S: "):
			want := l[3:]
			h.C.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, len(want))
			if n, err := io.ReadFull(h.R, buf); err != nil || string(buf) != want {
				h.t.Fatalf("expected %q, got %q (%v)", want, buf[:n], err)
			}
		case strings.HasPrefix(l, "S* "):
			if got := h.Line(); !strings.HasPrefix(got, l[3:]) {
				h.t.Fatalf("expected a line starting with %q, got %q", l[3:], got)
			}
		default:
			h.t.Fatalf("bad script line %q", l)
		}
	}
}

// Line reads one reply line.
func (h *Harness) Line() string {
	h.t.Helper()
	h.C.SetReadDeadline(time.Now().Add(5 * time.Second))
	s, err := h.R.ReadString('\n')
	if err != nil {
		h.t.Fatalf("reading a line: %q %v", s, err)
	}
	return s
}

// Silent asserts that nothing arrives for d and the connection stays
// open.
func (h *Harness) Silent(d time.Duration) {
	h.t.Helper()
	h.C.SetReadDeadline(time.Now().Add(d))
	defer h.C.SetReadDeadline(time.Time{})
	if b, err := h.R.ReadByte(); err == nil {
		h.t.Fatalf("unexpected byte %q", b)
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		h.t.Fatalf("connection not open: %v", err)
	}
}

// Closed asserts that the connection closes without anything more
// arriving.
func (h *Harness) Closed() {
	h.t.Helper()
	h.C.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := h.R.ReadByte(); err == nil {
		h.t.Fatalf("unexpected byte %q before close", b)
	}
}

// Result waits for Serve to return, then closes the server end as the
// proxy would.
func (h *Harness) Result() Result {
	h.t.Helper()
	select {
	case r := <-h.done:
		h.SC.Conn.Close()
		return r
	case <-time.After(10 * time.Second):
		h.t.Fatal("Serve did not return")
	}
	return Result{}
}

// Login waits for Serve to return a login.
func (h *Harness) Login() *session.Login {
	h.t.Helper()
	r := h.Result()
	if r.Err != nil || r.Login == nil {
		h.t.Fatalf("Serve returned %+v, %v; want a login", r.Login, r.Err)
	}
	return r.Login
}

// Ended waits for Serve to end with an error matching want (nil: any
// error) and returns it.
func (h *Harness) Ended(want error) error {
	h.t.Helper()
	r := h.Result()
	if r.Login != nil || r.Err == nil || want != nil && !errors.Is(r.Err, want) {
		h.t.Fatalf("Serve returned %+v, %v; want error %v", r.Login, r.Err, want)
	}
	return r.Err
}

// CloseWith waits for Serve to end with an error matching want and the
// client to see the close.
func (h *Harness) CloseWith(want error) {
	h.t.Helper()
	h.Ended(want)
	h.Closed()
}

// ClientTLS switches the client end to TLS (any server certificate).
func (h *Harness) ClientTLS() {
	h.t.Helper()
	tc := tls.Client(h.C, &tls.Config{InsecureSkipVerify: true})
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		h.t.Fatal(err)
	}
	tc.SetDeadline(time.Time{})
	h.C, h.R = tc, bufio.NewReader(tc)
}

// WithTLS gives the session a real StartTLS with a fresh self-signed
// certificate; each call's deadline is sent on deadlines when it is not
// nil.
func WithTLS(t testing.TB, deadlines chan<- time.Time) func(*session.Conn) {
	t.Helper()
	cert, err := pkitest.NewServer("localhost")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert.TLS()}}
	return func(sc *session.Conn) {
		sc.StartTLS = func(deadline time.Time) error {
			if deadlines != nil {
				deadlines <- deadline
			}
			tc := tls.Server(sc.Conn, cfg)
			tc.SetDeadline(deadline)
			if err := tc.Handshake(); err != nil {
				return err
			}
			tc.SetDeadline(time.Time{})
			sc.Conn, sc.TLS = tc, true
			return nil
		}
	}
}

// Limited is a tune for Serve: every login the auth service would accept
// is refused by a connection limit instead (session.ErrLimited), as the
// proxy's limit_conn check does.
func Limited(c *session.Conn) {
	c.Authenticate = func(context.Context, *authhttp.Request) (*authhttp.Response, error) {
		return nil, session.ErrLimited
	}
}
