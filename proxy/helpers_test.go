package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mailproxy/config"
	"mailproxy/internal/mailtest"
	"mailproxy/proxy"
)

// authServer is a fake auth_http service on loopback that records every
// raw request and answers with reply(request).
type authServer struct {
	ln    net.Listener
	mu    sync.Mutex
	reqs  []string
	reply func(req string) string
}

func startAuth(t testing.TB, reply func(req string) string) *authServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &authServer{ln: ln, reply: reply}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go a.handle(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return a
}

func (a *authServer) handle(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	var req bytes.Buffer
	for {
		line, err := r.ReadString('\n')
		req.WriteString(line)
		if err != nil || line == "\r\n" {
			break
		}
	}
	a.mu.Lock()
	a.reqs = append(a.reqs, req.String())
	a.mu.Unlock()
	io.WriteString(c, a.reply(req.String()))
}

func (a *authServer) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.reqs...)
}

func (a *authServer) addr() string { return a.ln.Addr().String() }

// okTo answers every request with a login at backend.
func okTo(backend string) func(string) string {
	host, port, _ := net.SplitHostPort(backend)
	return func(string) string {
		return "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: " + host + "\r\nAuth-Port: " + port + "\r\n\r\n"
	}
}

// startProxy loads yaml (with AUTH replaced by the auth address, DIR by a
// temp dir holding cert.pem/key.pem) and serves it; it returns the bound
// addresses.
func startProxy(t testing.TB, yaml string, auth string) (*proxy.Server, []string) {
	t.Helper()
	return startProxyLog(t, yaml, auth, io.Discard)
}

// startProxyLog is startProxy with the proxy's log lines also written to
// w.
func startProxyLog(t testing.TB, yaml string, auth string, w io.Writer) (*proxy.Server, []string) {
	t.Helper()
	dir := t.TempDir()
	cert, key, err := mailtest.WriteSelfSignedCert(dir, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	yaml = strings.NewReplacer("AUTH", auth, "CERT", cert, "KEY", key).Replace(yaml)
	cfg, err := config.Parse(filepath.Join(dir, "test.yaml"), []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	setTestEngine(cfg, yaml)
	log := slog.New(slog.NewTextHandler(io.MultiWriter(testLogs, w), &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := proxy.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Close()
		<-done
		_ = ctx
	})
	var addrs []string
	for _, a := range srv.Addrs() {
		addrs = append(addrs, a.String())
	}
	return srv, addrs
}

// testEventLoops is the event_loops value every test proxy runs with
// unless its configuration names one: $MAILPROXY_TEST_EVENT_LOOPS ("off",
// "auto" or a number), so that the whole suite runs on either engine;
// unset, the default (auto).
var testEventLoops = os.Getenv("MAILPROXY_TEST_EVENT_LOOPS")

// setTestEngine applies testEventLoops to cfg, parsed from yaml.
func setTestEngine(cfg *config.Config, yaml string) {
	if testEventLoops == "" || strings.Contains(yaml, "event_loops:") {
		return
	}
	switch testEventLoops {
	case "off":
		cfg.EventLoops = 0
	case "auto":
		cfg.EventLoops = config.EventLoopsAuto
	default:
		n, err := strconv.Atoi(testEventLoops)
		if err != nil || n < 0 {
			panic("MAILPROXY_TEST_EVENT_LOOPS: want off, auto or a number, not " + testEventLoops)
		}
		cfg.EventLoops = n
	}
}

// testLoops is the number of event loops a test proxy runs (0: none).
func testLoops() int {
	cfg, err := config.Parse("loops.yaml", []byte("servers: [{protocol: imap, listen: [\"127.0.0.1:0\"], auth_http: \"127.0.0.1:1\"}]\n"))
	if err != nil {
		panic(err)
	}
	setTestEngine(cfg, "")
	if cfg.EventLoops == config.EventLoopsAuto {
		return runtime.GOMAXPROCS(0)
	}
	return cfg.EventLoops
}

// rawConn is a line-oriented raw client with a deadline on every step.
type rawConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, r: bufio.NewReader(c)}
}

func (r *rawConn) send(s string) {
	r.t.Helper()
	r.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatalf("send %q: %v", s, err)
	}
}

func (r *rawConn) expect(want string) {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, len(want))
	if _, err := io.ReadFull(r.r, buf); err != nil || string(buf) != want {
		r.t.Fatalf("expected %q, got %q (%v)", want, buf, err)
	}
}

// expectClosed checks that the proxy closes the connection without
// sending anything more.
func (r *rawConn) expectClosed() {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := r.r.ReadByte()
	if err == nil {
		rest, _ := r.r.Peek(r.r.Buffered())
		r.t.Fatalf("expected close, got %q", append([]byte{b}, rest...))
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		r.t.Fatal("expected close, connection still open")
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var _ = fmt.Sprintf

func deadline() time.Time { return time.Now().Add(5 * time.Second) }
