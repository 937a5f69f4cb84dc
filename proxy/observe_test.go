package proxy_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mailproxy/proxy"
)

// recorder is an Observer that keeps every event as text.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf(format, args...))
}

func (r *recorder) SessionStarted(p string) { r.add("start %s", p) }
func (r *recorder) SessionEnded(p, outcome string, toBackend, toClient int64, _ time.Duration) {
	r.add("end %s %s %v %v", p, outcome, toBackend > 0, toClient > 0)
}
func (r *recorder) AuthRequest(p, result string, _ time.Duration) { r.add("auth %s %s", p, result) }
func (r *recorder) BackendFailure(p, stage string)                { r.add("backend %s %s", p, stage) }
func (r *recorder) TLSHandshake(p, version string)                { r.add("tls %s %s", p, version) }
func (r *recorder) Reload(ok bool)                                { r.add("reload %v", ok) }

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

var _ proxy.Observer = (*recorder)(nil)

// TestObserverEvents: a session's events reach the Observer: accept, the
// auth request, the TLS handshake, a backend failure and the end.
func TestObserverEvents(t *testing.T) {
	be := startIMAPBackend(t)
	auth := startAuth(t, okTo(be.Addr()))
	srv, addrs := startProxy(t, imapYAML, auth.addr())
	rec := &recorder{}
	srv.SetObserver(rec)

	c := dialRaw(t, addrs[0])
	c.expect("* OK IMAP4 ready\r\n")
	c.send("a LOGIN alice secret\r\nb LOGOUT\r\n")
	c.c.SetReadDeadline(deadline())
	var out strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := c.r.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	waitFor(t, func() bool { return srv.Sessions() == 0 }, "the session to end")
	want := []string{"start imap", "auth imap ok", "end imap backend closed true true"}
	if got := rec.list(); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
}
