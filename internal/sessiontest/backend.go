package sessiontest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/pkitest"
	"mailproxy/internal/session"
)

// BackendRun is a backend login played against a scripted backend.
type BackendRun struct {
	Relay []byte // what LoginBackend returned to relay
	Err   error  // LoginBackend's error
	// Sent is every byte the proxy side sent, plaintext and (decrypted)
	// over TLS, in order; AfterEnd what it sent after the script ended.
	Sent, AfterEnd []byte
	// TLS tells whether the backend side's handshake ran and succeeded.
	TLS bool
}

// StartTLSHook is a session.Login.StartTLS for tests: a TLS client
// handshake that trusts any certificate.
func StartTLSHook(plain net.Conn) (net.Conn, error) {
	tc := tls.Client(plain, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	return tc, nil
}

// PlayBackend runs h's LoginBackend for l (with a proxy_buffer of
// bufSize, 2 s to finish) on the proxy end of a fresh loopback pair,
// against a backend playing script on the other end: "B: x" sends x (one
// write, then a short pause so that the next write arrives as another
// read), "S: x" expects exactly x from the proxy, "W: " pauses 50 ms,
// "TLS" runs a server TLS handshake (the script then goes on over TLS),
// "CLOSE" closes the connection after a moment. When the script is done,
// the backend reads whatever else the proxy sends until LoginBackend
// returned (Run.AfterEnd), so a test can check that nothing (no
// credential) followed. A script step that fails fails t.
func PlayBackend(t testing.TB, h session.Handover, l *session.Login, bufSize int, script ...string) BackendRun {
	t.Helper()
	px, be := TCPPair(t)
	cert, err := pkitest.NewServer("backend.test")
	if err != nil {
		t.Fatal(err)
	}
	var run BackendRun
	done := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		var c net.Conn = be
		for _, s := range script {
			switch {
			case s == "CLOSE":
				time.Sleep(20 * time.Millisecond)
				be.Close()
				<-done
				errc <- nil
				return
			case s == "TLS":
				tc := tls.Server(be, &tls.Config{Certificates: []tls.Certificate{cert.TLS()}})
				tc.SetDeadline(time.Now().Add(5 * time.Second))
				if err := tc.Handshake(); err != nil {
					errc <- fmt.Errorf("backend TLS handshake: %w", err)
					return
				}
				run.TLS = true
				c = tc
			case strings.HasPrefix(s, "B: "):
				if _, err := io.WriteString(c, s[3:]); err != nil {
					errc <- err
					return
				}
				time.Sleep(15 * time.Millisecond)
			case strings.HasPrefix(s, "S: "):
				buf := make([]byte, len(s)-3)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, err := io.ReadFull(c, buf)
				run.Sent = append(run.Sent, buf[:n]...)
				if err != nil || string(buf) != s[3:] {
					errc <- fmt.Errorf("backend expected %q, got %q (%v)", s[3:], buf[:n], err)
					return
				}
			case strings.HasPrefix(s, "W: "):
				time.Sleep(50 * time.Millisecond)
			default:
				errc <- fmt.Errorf("bad script line %q", s)
				return
			}
		}
		// Collect the rest until LoginBackend returned.
		buf := make([]byte, 4096)
		for {
			select {
			case <-done:
				errc <- nil
				return
			default:
			}
			c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			n, err := c.Read(buf)
			run.AfterEnd = append(run.AfterEnd, buf[:n]...)
			var ne net.Error
			if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
				<-done
				errc <- nil
				return
			}
		}
	}()
	run.Relay, run.Err = h.LoginBackend(px, l, bufSize, time.Now().Add(2*time.Second))
	time.Sleep(50 * time.Millisecond) // let the backend read what followed
	close(done)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return run
}

// Strict fails t when the proxy sent anything the script did not
// expect, and returns what LoginBackend returned.
func (r BackendRun) Strict(t testing.TB) ([]byte, error) {
	t.Helper()
	if len(r.AfterEnd) > 0 {
		t.Fatalf("backend received %d unexpected bytes: %q", len(r.AfterEnd), r.AfterEnd)
	}
	return r.Relay, r.Err
}

// NoCredentials fails t when the proxy sent user or pass to the
// backend, plainly or in base64 or xtext forms that contain them.
func (r BackendRun) NoCredentials(t testing.TB, secrets ...string) {
	t.Helper()
	all := append(append([]byte(nil), r.Sent...), r.AfterEnd...)
	for _, s := range secrets {
		if bytes.Contains(all, []byte(s)) {
			t.Errorf("the proxy sent %q to the backend: %q", s, all)
		}
	}
}

// FakeBackendConn is a net.Conn whose reads return a backend's bytes, a
// few at a time, then EOF, and whose writes are recorded: the fuzz
// targets of the backend logins drive LoginBackend with it.
type FakeBackendConn struct {
	In   []byte
	Sent bytes.Buffer
}

func (c *FakeBackendConn) Read(p []byte) (int, error) {
	if len(c.In) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.In[:min(len(c.In), 7)])
	c.In = c.In[n:]
	return n, nil
}

func (c *FakeBackendConn) Write(p []byte) (int, error)      { return c.Sent.Write(p) }
func (c *FakeBackendConn) Close() error                     { return nil }
func (c *FakeBackendConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *FakeBackendConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *FakeBackendConn) SetDeadline(time.Time) error      { return nil }
func (c *FakeBackendConn) SetReadDeadline(time.Time) error  { return nil }
func (c *FakeBackendConn) SetWriteDeadline(time.Time) error { return nil }

// ErrNoTLSHere is the error of FuzzStartTLS's hook.
var ErrNoTLSHere = errors.New("sessiontest: TLS refused")

// FuzzStartTLS drives l's LoginBackend, with a StartTLS hook that always
// fails, on a backend that sends in: whatever the backend says, no
// secret (the password, the user, their encodings) may be sent, and a
// login must fail. It is the body of each protocol's
// FuzzBackendStartTLS.
func FuzzStartTLS(t *testing.T, l *session.Login, in []byte, secrets ...string) {
	called := false
	l.StartTLS = func(net.Conn) (net.Conn, error) { called = true; return nil, ErrNoTLSHere }
	c := &FakeBackendConn{In: in}
	relay, err := l.Handover.LoginBackend(c, l, 256, time.Now().Add(time.Second))
	if err == nil {
		t.Fatalf("login succeeded without TLS: relay %q", relay)
	}
	if called && !errors.Is(err, ErrNoTLSHere) {
		t.Fatalf("the hook failed but the login ended with %v", err)
	}
	for _, s := range secrets {
		if bytes.Contains(c.Sent.Bytes(), []byte(s)) {
			t.Fatalf("%q sent before TLS: %q", s, c.Sent.Bytes())
		}
	}
}
