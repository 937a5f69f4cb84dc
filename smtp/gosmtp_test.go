package smtp

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"mailproxy/authhttp"
	"mailproxy/internal/session"
)

// recorder is a go-smtp backend that keeps every message it receives.
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

type recSession struct {
	r        *recorder
	from, to string
}

func (r *recorder) NewSession(*gosmtp.Conn) (gosmtp.Session, error) { return &recSession{r: r}, nil }
func (s *recSession) Reset()                                        {}
func (s *recSession) Logout() error                                 { return nil }
func (s *recSession) Mail(from string, _ *gosmtp.MailOptions) error { s.from = from; return nil }
func (s *recSession) Rcpt(to string, _ *gosmtp.RcptOptions) error   { s.to = to; return nil }
func (s *recSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.r.mu.Lock()
	s.r.msgs = append(s.r.msgs, s.from+">"+s.to+":"+string(b))
	s.r.mu.Unlock()
	return err
}

// TestGoSMTPClientThroughProxy sends mail with go-smtp's client through
// Serve, LoginBackend (xclient off: go-smtp does not know XCLIENT) and a
// plain byte relay to a go-smtp server, for both AUTH PLAIN and
// smtp_auth none.
func TestGoSMTPClientThroughProxy(t *testing.T) {
	rec := &recorder{}
	bs := gosmtp.NewServer(rec)
	bs.Domain = "backend.example"
	bln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go bs.Serve(bln)
	t.Cleanup(func() { bs.Close() })
	backendAddr := netip.MustParseAddrPort(bln.Addr().String())

	srv := NewServer(Options{ServerName: "mx.example.com", Auth: []string{"plain", "login", "none"}, MaxErrors: 5})
	fln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fln.Close() })
	var reqs sync.Map
	go func() {
		for {
			c, err := fln.Accept()
			if err != nil {
				return
			}
			go proxyOne(t, srv, c, backendAddr, &reqs)
		}
	}()

	send := func(auth sasl.Client, from, to, body string) {
		t.Helper()
		c, err := gosmtp.Dial(fln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello("client.example.org"); err != nil {
			t.Fatal(err)
		}
		if auth != nil {
			if err := c.Auth(auth); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Mail(from, nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt(to, nil); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Quit(); err != nil {
			t.Fatal(err)
		}
	}
	send(sasl.NewPlainClient("", "carol", "secret"), "carol@example.com", "dave@example.com", "Subject: one\r\n\r\nhello\r\n")
	send(nil, "relay@example.org", "postmaster@example.com", "Subject: two\r\n\r\nrelayed\r\n")

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.msgs) != 2 ||
		!strings.HasPrefix(rec.msgs[0], "carol@example.com>dave@example.com:Subject: one") ||
		!strings.HasPrefix(rec.msgs[1], "relay@example.org>postmaster@example.com:Subject: two") {
		t.Fatalf("backend got %q", rec.msgs)
	}
	if v, _ := reqs.Load("carol"); v != "plain" {
		t.Fatalf("AUTH PLAIN request method %v", v)
	}
	if v, _ := reqs.Load(""); v != "none" {
		t.Fatalf("relay request method %v", v)
	}
}

// proxyOne plays the proxy's part for one client: Serve with an auth
// service accepting everyone, LoginBackend, then a byte relay.
func proxyOne(t *testing.T, srv *Server, c net.Conn, backend netip.AddrPort, reqs *sync.Map) {
	defer c.Close()
	sc := &session.Conn{
		Conn:    c,
		Client:  netip.MustParseAddrPort(c.RemoteAddr().String()),
		Timeout: 5 * time.Second,
		Log:     slog.New(slog.DiscardHandler),
		Authenticate: func(_ context.Context, r *authhttp.Request) (*authhttp.Response, error) {
			reqs.Store(r.User, r.Method)
			return &authhttp.Response{Status: authhttp.StatusOK, Server: backend, Upstream: backend.String()}, nil
		},
		StartTLS: func(time.Time) error { return io.EOF },
	}
	l, err := srv.Serve(context.Background(), sc)
	if err != nil {
		t.Errorf("Serve: %v", err)
		return
	}
	b, err := net.Dial("tcp", backend.String())
	if err != nil {
		t.Errorf("dial backend: %v", err)
		return
	}
	defer b.Close()
	relay, err := l.Handover.LoginBackend(b, l, 4096, time.Now().Add(5*time.Second))
	if err != nil {
		t.Errorf("LoginBackend: %v", err)
		return
	}
	c.SetDeadline(time.Time{})
	c.Write(relay)
	b.Write(l.Pipelined)
	done := make(chan struct{}, 2)
	go func() { io.Copy(b, c); done <- struct{}{} }()
	go func() { io.Copy(c, b); done <- struct{}{} }()
	<-done
}
