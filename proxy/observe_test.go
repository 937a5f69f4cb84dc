package proxy_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mailproxy/internal/outcome"
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
func (r *recorder) SessionEnded(p string, o outcome.Outcome, toBackend, toClient int64, _ time.Duration) {
	r.add("end %s %s %v %v", p, o.Label(), toBackend > 0, toClient > 0)
}
func (r *recorder) AuthRequest(p, result string, _ time.Duration) { r.add("auth %s %s", p, result) }
func (r *recorder) BackendFailure(p, stage string)                { r.add("backend %s %s", p, stage) }
func (r *recorder) TLSHandshake(p, version string)                { r.add("tls %s %s", p, version) }
func (r *recorder) Reload(ok bool)                                { r.add("reload %v", ok) }
func (r *recorder) Refused(p, reason string)                      { r.add("refused %s %s", p, reason) }
func (r *recorder) AcceptPaused(reason string)                    { r.add("paused %s", reason) }
func (r *recorder) StoreError(use string)                         { r.add("store error %s", use) }

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
	want := []string{"start imap", "auth imap ok", "end imap backend_closed true true"}
	if got := rec.list(); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
}

// TestSessionOutcome: a session's summary line and its Observer event
// come from the same typed outcome. Sessions that end the same way count
// under the same label whatever their error text, also a text that reads
// like another outcome's ("client closed the connection …" is no
// client_closed): the label is never parsed from the text.
func TestSessionOutcome(t *testing.T) {
	be := loginThen(t, "* OK ready\r\n", imapLogin, drain)
	cases := []struct {
		name  string
		auth  func(string) string // nil: the auth service is down
		steps func(c *rawConn)
		text  string // the summary line's outcome=
		label string // the Observer's (and so the metric's) label
	}{
		{"client-hangs-up-before-login", authReply(okAnswer(be)), func(c *rawConn) {
			c.send("a NOOP\r\n")
			c.expect("a OK completed\r\n")
			c.c.Close()
		}, `outcome="ended before login: EOF"`, "no_login"},
		{"auth-service-down", nil, func(c *rawConn) {
			c.send("a LOGIN u p\r\n")
			c.expect("* BAD internal server error\r\n")
			c.expectClosed()
		}, `outcome="ended before login: connect() failed (111: Connection refused)"`, "no_login"},
		{"hangup-during-auth-wait", authReply("Auth-Status: Nope\r\nAuth-Wait: 999999999999\r\n\r\n"), func(c *rawConn) {
			c.send("a LOGIN u p\r\n")
			c.expectQuiet()
			c.c.Close()
		}, `outcome="ended before login: client closed the connection during the Auth-Wait delay"`, "no_login"},
		{"login-refused", authReply("Auth-Status: Nope\r\n\r\n"), func(c *rawConn) {
			c.send("a LOGIN u p\r\n")
			c.expect("a NO Nope\r\n")
			c.expectClosed()
		}, `outcome="closed before login"`, "no_login"},
		{"backend-down", authReply(okAnswer(closedPort(t))), func(c *rawConn) {
			c.send("a LOGIN u p\r\n")
			c.expect("* BAD internal server error\r\n")
			c.expectClosed()
		}, `outcome="backend login failed"`, "backend_failed"},
		{"client-closes-after-login", authReply(okAnswer(be)), func(c *rawConn) {
			c.send("a LOGIN u p\r\n")
			c.expect("a OK done\r\n")
			c.c.Close()
		}, `outcome="client closed"`, "client_closed"},
	}
	yaml := strings.Replace(faultYAML, "PASS", "false", 1)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := closedPort(t)
			if tc.auth != nil {
				auth = startAuth(t, tc.auth).addr()
			}
			srv, addrs := startProxy(t, yaml, auth)
			rec := &recorder{}
			srv.SetObserver(rec)
			c := dialRaw(t, addrs[0])
			client := c.c.LocalAddr().String()
			c.expect("* OK IMAP4 ready\r\n")
			tc.steps(c)
			waitFor(t, func() bool { return srv.Sessions() == 0 }, "the session to end")
			logs := sessionLogs(client)
			var summary string
			for _, l := range strings.Split(logs, "\n") {
				if strings.Contains(l, `msg="session done"`) {
					summary = l
				}
			}
			if !strings.Contains(summary+" ", tc.text+" ") {
				t.Errorf("summary lacks %s; the session's lines:\n%s", tc.text, logs)
			}
			var ends []string
			for _, e := range rec.list() {
				if strings.HasPrefix(e, "end ") {
					ends = append(ends, e)
				}
			}
			if len(ends) != 1 || !strings.HasPrefix(ends[0], "end imap "+tc.label+" ") {
				t.Errorf("Observer saw %q, want one end with label %s", ends, tc.label)
			}
		})
	}
}
