package smtp

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
	"mailproxy/internal/sessiontest"
)

// The shared harness, under the names these tests use.
var (
	tcpPair = func(t *testing.T) (net.Conn, net.Conn) { return sessiontest.TCPPair(t) }
	ok      = sessiontest.OK
)

type fakeAuth = sessiontest.FakeAuth

type result struct {
	login *session.Login
	err   error
}

// logBuffer collects log lines for assertions.
type logBuffer struct {
	mu sync.Mutex
	sb strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sb.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sb.String()
}

// harness is one Serve run on a loopback pair.
type harness struct {
	c    net.Conn
	r    *bufio.Reader
	done chan result
	sc   *session.Conn
	log  *logBuffer
}

// defaults fills the options every test shares unless it says otherwise.
func defaults(o Options) Options {
	if o.MaxErrors == 0 {
		o.MaxErrors = 5
	}
	if o.Auth == nil {
		o.Auth = []string{"plain", "login"}
	}
	if o.ServerName == "" {
		o.ServerName = "mx.example.com"
	}
	return o
}

// serve runs Serve on the server end of a fresh pair. The client address
// seen by the front end is 192.0.2.10:1234 unless tune changes it.
func serve(t *testing.T, o Options, auth *fakeAuth, tune ...func(*session.Conn)) *harness {
	t.Helper()
	cl, sv := tcpPair(t)
	h := &harness{c: cl, r: bufio.NewReader(cl), done: make(chan result, 1), log: &logBuffer{}}
	h.sc = &session.Conn{
		Conn:         sv,
		Client:       netip.MustParseAddrPort("192.0.2.10:1234"),
		Timeout:      5 * time.Second,
		Log:          slog.New(slog.NewTextHandler(h.log, nil)),
		Authenticate: auth.Do,
		StartTLS:     func(time.Time) error { return errors.New("no TLS in this test") },
	}
	for _, f := range tune {
		f(h.sc)
	}
	srv := NewServer(defaults(o))
	go func() {
		l, err := srv.Serve(context.Background(), h.sc)
		h.done <- result{l, err}
	}()
	return h
}

// play runs "C: " lines (sent) and "S: " lines (expected exactly).
func (h *harness) play(t *testing.T, lines ...string) {
	t.Helper()
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "C: "):
			io.WriteString(h.c, l[3:])
		case strings.HasPrefix(l, "S: "):
			want := l[3:]
			h.c.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, len(want))
			if _, err := io.ReadFull(h.r, buf); err != nil || string(buf) != want {
				t.Fatalf("expected %q, got %q (%v)", want, buf, err)
			}
		default:
			t.Fatalf("bad script line %q", l)
		}
	}
}

// silent asserts that nothing arrives for d and the connection stays open.
func (h *harness) silent(t *testing.T, d time.Duration) {
	t.Helper()
	h.c.SetReadDeadline(time.Now().Add(d))
	if b, err := h.r.ReadByte(); err == nil {
		t.Fatalf("unexpected byte %q", b)
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("connection not open: %v", err)
	}
}

// closed asserts that the server closes without sending anything more.
func (h *harness) closed(t *testing.T) {
	t.Helper()
	h.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if b, err := h.r.ReadByte(); err == nil {
		t.Fatalf("unexpected byte %q before close", b)
	}
}

// result waits for Serve to return.
func (h *harness) result(t *testing.T) result {
	t.Helper()
	// Serve does not close the connection (the proxy does); once it has
	// returned, close it so that closed() sees EOF.
	select {
	case r := <-h.done:
		h.sc.Conn.Close()
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	return result{}
}

// login waits for a successful Serve.
func (h *harness) login(t *testing.T) *session.Login {
	t.Helper()
	r := h.result(t)
	if r.err != nil || r.login == nil {
		t.Fatalf("Serve: %v", r.err)
	}
	return r.login
}

// ended waits for Serve to end with err matching want (nil: any error).
func (h *harness) ended(t *testing.T, want error) error {
	t.Helper()
	r := h.result(t)
	if r.login != nil || r.err == nil || want != nil && !errors.Is(r.err, want) {
		t.Fatalf("Serve = %+v, %v; want error %v", r.login, r.err, want)
	}
	return r.err
}

// fail is a refusal with an Auth-Error-Code (SMTP only).
func fail(text, code string, wait time.Duration) *authhttp.Response {
	return &authhttp.Response{Status: authhttp.StatusFail, Text: text, ErrorCode: code, Wait: wait}
}

const greeting = "S: 220 mx.example.com ESMTP ready\r\n"
