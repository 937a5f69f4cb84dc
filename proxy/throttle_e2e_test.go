package proxy_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"mailproxy/config"
	"mailproxy/internal/kvstore/kvstoretest"
	"mailproxy/internal/mailtest"
	"mailproxy/proxy"
)

// throttleRecorder is a recorder that also observes login_throttle.
type throttleRecorder struct{ recorder }

func (r *throttleRecorder) LoginThrottled(p, rule string) { r.add("throttled %s %s", p, rule) }
func (r *throttleRecorder) ThrottleStore(ok bool)         { r.add("store %v", ok) }

var _ proxy.ThrottleObserver = (*throttleRecorder)(nil)

// startThrottled serves yaml (AUTH, CERT, KEY and STORE replaced) with
// its log kept and a throttleRecorder observing it.
func startThrottled(t *testing.T, yaml, auth, store string) (*proxy.Server, []string, *mailtest.SyncBuffer, *throttleRecorder) {
	t.Helper()
	buf := &mailtest.SyncBuffer{}
	srv, addrs := startProxyLog(t, strings.ReplaceAll(yaml, "STORE", store), auth, buf)
	rec := &throttleRecorder{}
	srv.SetObserver(rec)
	return srv, addrs, buf, rec
}

// passwordAuth accepts alice's password "secret" with a login at
// backend and refuses anything else with refusal (header lines).
func passwordAuth(backend, refusal string) func(string) string {
	ok := okTo(backend)
	return func(req string) string {
		if strings.Contains(req, "Auth-Pass: secret\r\n") {
			return ok(req)
		}
		return "HTTP/1.0 200 OK\r\n" + refusal + "\r\n"
	}
}

// line reads one line.
func (r *rawConn) line() string {
	r.t.Helper()
	r.c.SetReadDeadline(deadline())
	l, err := r.r.ReadString('\n')
	if err != nil {
		r.t.Fatalf("reading a line: %q, %v", l, err)
	}
	return l
}

// loginFrom connects from the loopback address from, sends id (an ID
// command's argument, when not empty) and `a LOGIN user pass`; it
// returns the reply to the login and how long it took.
func loginFrom(t *testing.T, from, addr, id, user, pass string) (*rawConn, string, time.Duration) {
	t.Helper()
	c := dialFrom(t, from, addr)
	c.expectLine("* OK")
	if id != "" {
		c.send("i ID " + id + "\r\n")
		for l := c.line(); !strings.HasPrefix(l, "i "); l = c.line() {
		}
	}
	start := time.Now()
	c.send("a LOGIN " + user + " " + pass + "\r\n")
	l := c.line()
	return c, l, time.Since(start)
}

const throttleYAML = `
mail:
  auth_http: http://AUTH/auth
  imap_id: {}
  login_throttle:
    STORE
    ip:      {failures: 6, window: 1m, block: 1m}
    user_ip: {failures: 3, window: 1m, block: 1m}
    exempt: [127.0.0.2]
servers:
  - protocol: imap
    listen: [127.0.0.1:0]
`

// TestLoginThrottleIMAP: three failures of alice from one address block
// her there: the fourth attempt, with the right password, gets the
// failure reply and the auth service is not asked; she still logs in
// from another address; a success clears the count of user and address.
func TestLoginThrottleIMAP(t *testing.T) {
	be := startIMAPBackend(t)
	auth := startAuth(t, passwordAuth(be.Addr(), "Auth-Status: Invalid credentials\r\n"))
	srv, addrs, log, rec := startThrottled(t, throttleYAML, auth.addr(), "")
	for i := 0; i < 3; i++ {
		c, reply, _ := loginFrom(t, "127.0.0.1", addrs[0], "", "alice", "wrong")
		if reply != "a NO Invalid credentials\r\n" {
			t.Fatalf("failure %d: %q", i+1, reply)
		}
		c.expectClosed()
	}
	c, reply, _ := loginFrom(t, "127.0.0.1", addrs[0], "", "Alice", "secret")
	if reply != "a NO Invalid credentials\r\n" {
		t.Fatalf("throttled login: %q", reply)
	}
	c.expectClosed()
	if n := len(auth.requests()); n != 3 {
		t.Fatalf("the auth service saw %d requests, want 3", n)
	}
	// Another address: alice logs in.
	c, reply, _ = loginFrom(t, "127.0.0.3", addrs[0], "", "alice", "secret")
	if !strings.HasPrefix(reply, "a OK") {
		t.Fatalf("login from another address: %q", reply)
	}
	c.c.Close()

	// Two failures, a success, two failures: not blocked (the success
	// cleared the count).
	from := "127.0.0.4"
	for _, pass := range []string{"wrong", "wrong", "secret", "wrong", "wrong", "secret"} {
		c, reply, _ := loginFrom(t, from, addrs[0], "", "alice", pass)
		if want := "a NO Invalid credentials\r\n"; pass == "wrong" && reply != want || pass == "secret" && !strings.HasPrefix(reply, "a OK") {
			t.Fatalf("%s: %q", pass, reply)
		}
		c.c.Close()
	}
	if n := len(auth.requests()); n != 3+1+6 {
		t.Fatalf("the auth service saw %d requests, want 10", n)
	}
	waitSessions(t, srv, 0)
	text := log.String()
	if strings.Count(text, `msg="login throttled"`) != 1 || strings.Count(text, `protocol=imap rule=user_ip login=Alice`) != 1 ||
		strings.Count(text, `outcome="login throttled"`) != 1 ||
		strings.Count(text, `msg="login throttle: block started"`) != 1 || strings.Count(text, `protocol=imap rule=user_ip login=alice`) != 1 {
		t.Errorf("log:\n%s", text)
	}
	if countOf(rec.list(), "throttled imap user_ip") != 1 || countOf(rec.list(), "end imap throttled false false") != 1 {
		t.Errorf("events: %q", rec.list())
	}
}

// TestLoginThrottleReplyAndDelay: with Auth-Wait the throttled reply
// comes after the same delay as the failure it replays, the session
// goes on, and the bytes are the same.
func TestLoginThrottleReplyAndDelay(t *testing.T) {
	be := startIMAPBackend(t)
	auth := startAuth(t, passwordAuth(be.Addr(), "Auth-Status: Invalid credentials\r\nAuth-Wait: 1\r\n"))
	yaml := strings.Replace(throttleYAML, "failures: 3", "failures: 1", 1)
	_, addrs, _, _ := startThrottled(t, yaml, auth.addr(), "")
	c, failed, d1 := loginFrom(t, "127.0.0.1", addrs[0], "", "alice", "wrong")
	start := time.Now()
	c.send("a LOGIN alice secret\r\n")
	throttled := c.line()
	d2 := time.Since(start)
	if failed != "a NO Invalid credentials\r\n" || throttled != failed {
		t.Fatalf("failure %q, throttled %q", failed, throttled)
	}
	if d1 < time.Second || d2 < time.Second {
		t.Fatalf("delays: failure %v, throttled %v; want both at least Auth-Wait (1s)", d1, d2)
	}
	t.Logf("failure after %v, throttled after %v", d1, d2)
	c.send("b NOOP\r\n")
	c.expect("b OK completed\r\n")
	if n := len(auth.requests()); n != 1 {
		t.Fatalf("the auth service saw %d requests, want 1", n)
	}
}

// TestLoginThrottleSharedStore: two instances share a real redis-server:
// failures on one block the login on the other, which has seen no
// refusal yet and answers with the default (Invalid login or password,
// after 3 seconds).
func TestLoginThrottleSharedStore(t *testing.T) {
	rs := kvstoretest.Real(t)
	be := startIMAPBackend(t)
	auth := startAuth(t, passwordAuth(be.Addr(), "Auth-Status: Invalid credentials\r\n"))
	store := "store: " + rs.URL
	_, one, _, _ := startThrottled(t, throttleYAML, auth.addr(), store)
	_, two, _, rec := startThrottled(t, throttleYAML, auth.addr(), store)
	for i := 0; i < 3; i++ {
		loginFrom(t, "127.0.0.1", one[0], "", "alice", "wrong")
	}
	c, reply, d := loginFrom(t, "127.0.0.1", two[0], "", "alice", "secret")
	if reply != "a NO Invalid login or password\r\n" || d < 3*time.Second {
		t.Fatalf("throttled on the other instance: %q after %v", reply, d)
	}
	c.send("b NOOP\r\n")
	c.expect("b OK completed\r\n")
	if n := len(auth.requests()); n != 3 {
		t.Fatalf("the auth service saw %d requests, want 3", n)
	}
	if countOf(rec.list(), "throttled imap user_ip") != 1 || countOf(rec.list(), "store true") != 1 {
		t.Errorf("events: %q", rec.list())
	}
}

// TestLoginThrottleExempt: an exempt source (a webmail) is counted by
// the client address it forwards with IMAP ID x-originating-ip; its own
// address is never blocked; a non-exempt client cannot forward one.
func TestLoginThrottleExempt(t *testing.T) {
	be := startIMAPBackend(t)
	auth := startAuth(t, passwordAuth(be.Addr(), "Auth-Status: Invalid credentials\r\n"))
	_, addrs, log, _ := startThrottled(t, throttleYAML, auth.addr(), "")
	id := func(ip string) string { return `("name" "webmail" "x-originating-ip" "` + ip + `")` }
	for i := 0; i < 3; i++ {
		loginFrom(t, "127.0.0.2", addrs[0], id("192.0.2.7"), "alice", "wrong")
	}
	// Blocked: alice at 192.0.2.7 through the webmail.
	if _, reply, _ := loginFrom(t, "127.0.0.2", addrs[0], id("192.0.2.7"), "alice", "secret"); reply != "a NO Invalid credentials\r\n" {
		t.Fatalf("forwarded address: %q", reply)
	}
	// Not alice from another forwarded address, nor the webmail without
	// forwarding (no ip or user_ip rule then), nor a client that is not
	// exempt claiming the blocked address.
	for _, tc := range []struct{ from, id string }{
		{"127.0.0.2", id("192.0.2.8")},
		{"127.0.0.2", ""},
		{"127.0.0.2", id("not an address")},
		{"127.0.0.1", id("192.0.2.7")},
	} {
		c, reply, _ := loginFrom(t, tc.from, addrs[0], tc.id, "alice", "secret")
		if !strings.HasPrefix(reply, "a OK") {
			t.Fatalf("from %s with ID %s: %q", tc.from, tc.id, reply)
		}
		c.c.Close()
	}
	if n := len(auth.requests()); n != 3+4 {
		t.Fatalf("the auth service saw %d requests, want 7", n)
	}
	// The webmail itself, forwarding nothing, fails often: never blocked
	// by address.
	for i := 0; i < 8; i++ {
		loginFrom(t, "127.0.0.2", addrs[0], "", "user"+string(rune('a'+i)), "wrong")
	}
	if _, reply, _ := loginFrom(t, "127.0.0.2", addrs[0], "", "alice", "secret"); !strings.HasPrefix(reply, "a OK") {
		t.Fatalf("the webmail after many failures: %q\n%s", reply, log.String())
	}
}

// TestLoginThrottleStoreDown: with the store down a login goes through
// unchecked (one warning, the metric), or with fail_closed gets the
// internal error without the auth service being asked; checks resume
// when the store is back.
func TestLoginThrottleStoreDown(t *testing.T) {
	rs := kvstoretest.Real(t)
	be := startIMAPBackend(t)
	auth := startAuth(t, passwordAuth(be.Addr(), "Auth-Status: Invalid credentials\r\n"))
	store := "store: " + rs.URL
	srv, open, log, rec := startThrottled(t, throttleYAML, auth.addr(), store)
	_, closed, _, _ := startThrottled(t, throttleYAML, auth.addr(), store+"\n    fail_closed: true")
	rs.Stop()
	for i := 0; i < 2; i++ {
		start := time.Now()
		c, reply, _ := loginFrom(t, "127.0.0.1", open[0], "", "alice", "secret")
		if !strings.HasPrefix(reply, "a OK") {
			t.Fatalf("fail open: %q", reply)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("a login with the store down took %v", d)
		}
		c.c.Close()
	}
	c, reply, _ := loginFrom(t, "127.0.0.1", closed[0], "", "alice", "secret")
	if reply != "* BAD internal server error\r\n" {
		t.Fatalf("fail closed: %q", reply)
	}
	c.expectClosed()
	if n := len(auth.requests()); n != 2 {
		t.Fatalf("the auth service saw %d requests, want 2", n)
	}
	waitSessions(t, srv, 0)
	if n := strings.Count(log.String(), "login_throttle: the store failed; logins are let through unchecked"); n != 1 {
		t.Errorf("%d warnings, want 1 (at most one per 10 s):\n%s", n, log.String())
	}
	if countOf(rec.list(), "store false") < 2 {
		t.Errorf("events: %q", rec.list())
	}
	rs.Start()
	var got string
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		c, reply, _ := loginFrom(t, "127.0.0.1", closed[0], "", "alice", "secret")
		c.c.Close()
		if got = reply; strings.HasPrefix(reply, "a OK") {
			break
		}
	}
	if !strings.HasPrefix(got, "a OK") {
		t.Fatalf("fail closed after the store is back: %q", got)
	}
	c, reply, _ = loginFrom(t, "127.0.0.1", open[0], "", "alice", "secret")
	if !strings.HasPrefix(reply, "a OK") {
		t.Fatalf("fail open after the store is back: %q", reply)
	}
	c.c.Close()
	waitFor(t, func() bool { return strings.Contains(log.String(), "login_throttle: the store answers again") }, "the recovery line")
}

const throttleProtocolsYAML = `
mail:
  auth_http: http://AUTH/auth
  login_throttle:
    user: {failures: 1, window: 1m, block: 1m}
servers:
  - protocol: pop3
    listen: [127.0.0.1:0]
  - protocol: smtp
    server_name: mx.example.com
    smtp_auth: [plain, login]
    listen: [127.0.0.1:0]
  - protocol: sieve
    sieve_auth: [plain]
    listen: [127.0.0.1:0]
  - protocol: imap
    imap_auth: [plain]
    listen: [127.0.0.1:0]
`

// TestLoginThrottleProtocols: in every protocol the throttled reply is
// the protocol's failure reply, byte for byte (SMTP with the auth
// service's Auth-Error-Code), and the connection closes as after the
// failure.
func TestLoginThrottleProtocols(t *testing.T) {
	auth := startAuth(t, func(string) string {
		return "HTTP/1.0 200 OK\r\nAuth-Status: Bad password\r\nAuth-Error-Code: 535 5.7.8\r\n\r\n"
	})
	_, addrs, _, rec := startThrottled(t, throttleProtocolsYAML, auth.addr(), "")
	plain := func(user string) string { return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00pw")) }
	cases := []struct {
		name, addr string
		login      func(c *rawConn, user string) string
		want       string
	}{
		{"pop3", addrs[0], func(c *rawConn, user string) string {
			c.expectLine("+OK")
			c.send("USER " + user + "\r\n")
			c.expectLine("+OK")
			c.send("PASS pw\r\n")
			return c.line()
		}, "-ERR Bad password\r\n"},
		{"smtp", addrs[1], func(c *rawConn, user string) string {
			c.expectLine("220 ")
			c.send("EHLO client.example\r\n")
			for l := c.line(); !strings.HasPrefix(l, "250 "); l = c.line() {
			}
			c.send("AUTH PLAIN " + plain(user) + "\r\n")
			return c.line()
		}, "535 5.7.8 Bad password\r\n"},
		{"sieve", addrs[2], func(c *rawConn, user string) string {
			for l := c.line(); !strings.HasPrefix(l, "OK"); l = c.line() {
			}
			c.send(`AUTHENTICATE "PLAIN" "` + plain(user) + "\"\r\n")
			return c.line()
		}, "NO \"Bad password\"\r\n"},
		{"imap", addrs[3], func(c *rawConn, user string) string {
			c.expectLine("* OK")
			c.send("a AUTHENTICATE PLAIN " + plain(user) + "\r\n")
			return c.line()
		}, "a NO Bad password\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			user := tc.name + "-user"
			before := len(auth.requests())
			var replies []string
			for i := 0; i < 2; i++ {
				c := dialRaw(t, tc.addr)
				replies = append(replies, tc.login(c, user))
				c.expectClosed()
			}
			if replies[0] != tc.want || replies[1] != tc.want {
				t.Fatalf("failure %q, throttled %q, want %q", replies[0], replies[1], tc.want)
			}
			if n := len(auth.requests()) - before; n != 1 {
				t.Fatalf("the auth service saw %d requests, want 1", n)
			}
			if countOf(rec.list(), "throttled "+tc.name+" user") != 1 {
				t.Errorf("events: %q", rec.list())
			}
		})
	}
}

// TestLoginThrottleReload: counts in memory survive a reload that keeps
// the store; a reload that removes login_throttle lets the login through.
func TestLoginThrottleReload(t *testing.T) {
	be := startIMAPBackend(t)
	auth := startAuth(t, passwordAuth(be.Addr(), "Auth-Status: Invalid credentials\r\n"))
	srv, addrs, _, _ := startThrottled(t, throttleYAML, auth.addr(), "")
	for i := 0; i < 3; i++ {
		loginFrom(t, "127.0.0.1", addrs[0], "", "alice", "wrong")
	}
	reload := func(yaml string) {
		t.Helper()
		cfg, err := config.Parse("test.yaml", []byte(strings.NewReplacer("STORE", "", "AUTH", auth.addr()).Replace(yaml)))
		must(t, err)
		must(t, srv.Reload(cfg))
	}
	// Changed rules, same (memory) store: still blocked.
	reload(strings.Replace(throttleYAML, "block: 1m}\n    exempt", "block: 2m}\n    exempt", 1))
	addrs = addrsOf(srv)
	if _, reply, _ := loginFrom(t, "127.0.0.1", addrs[0], "", "alice", "secret"); reply != "a NO Invalid credentials\r\n" {
		t.Fatalf("after a reload: %q", reply)
	}
	reload(strings.Replace(throttleYAML, "  login_throttle:\n    STORE\n    ip:      {failures: 6, window: 1m, block: 1m}\n    user_ip: {failures: 3, window: 1m, block: 1m}\n    exempt: [127.0.0.2]\n", "", 1))
	addrs = addrsOf(srv)
	if _, reply, _ := loginFrom(t, "127.0.0.1", addrs[0], "", "alice", "secret"); !strings.HasPrefix(reply, "a OK") {
		t.Fatalf("after removing login_throttle: %q", reply)
	}
}

// addrsOf returns the server's bound addresses.
func addrsOf(srv *proxy.Server) []string {
	var out []string
	for _, a := range srv.Addrs() {
		out = append(out, a.String())
	}
	return out
}
