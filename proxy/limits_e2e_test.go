package proxy_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailproxy/config"
	"mailproxy/internal/mailtest"
	"mailproxy/proxy"
)

// startLimited is startProxy with the proxy's log lines also kept in the
// returned buffer, and rec observing it.
func startLimited(t *testing.T, yaml, auth string) (*proxy.Server, []string, *mailtest.SyncBuffer, *recorder) {
	t.Helper()
	buf := &mailtest.SyncBuffer{}
	srv, addrs := startProxyLog(t, yaml, auth, buf)
	rec := &recorder{}
	srv.SetObserver(rec)
	return srv, addrs, buf, rec
}

// dialFrom connects to addr from the loopback address from.
func dialFrom(t *testing.T, from, addr string) *rawConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	must(t, err)
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, r: bufio.NewReader(c)}
}

// waitSessions waits until the server counts n sessions.
func waitSessions(t *testing.T, srv *proxy.Server, n int) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); srv.Sessions() != n; {
		if time.Now().After(end) {
			t.Fatalf("%d sessions, want %d", srv.Sessions(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// expectLine reads one line and checks its start.
func (r *rawConn) expectLine(prefix string) {
	r.t.Helper()
	r.c.SetReadDeadline(deadline())
	l, err := r.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(l, prefix) {
		r.t.Fatalf("expected a line starting with %q, got %q (%v)", prefix, l, err)
	}
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

const maxConnYAML = `
max_connections: 2
mail:
  auth_http: http://AUTH/auth
  ssl_certificate: CERT
  ssl_certificate_key: KEY
servers:
  - protocol: imap
    listen:
      - 127.0.0.1:0
      - {address: "127.0.0.1:0", ssl: true}
      - {address: "127.0.0.1:0", proxy_protocol: true}
  - protocol: pop3
    listen: [127.0.0.1:0]
  - protocol: smtp
    server_name: mx.example.com
    listen: [127.0.0.1:0]
  - protocol: sieve
    listen: [127.0.0.1:0]
`

// TestMaxConnections: at max_connections (2, for the whole process) a
// new client of any protocol gets its protocol's try-later reply instead
// of the greeting and is closed — over implicit TLS inside TLS, behind a
// PROXY header after it — with one log line for them all and a metric
// event each; once a session ends, a client is served again.
func TestMaxConnections(t *testing.T) {
	srv, addrs, log, rec := startLimited(t, maxConnYAML, "127.0.0.1:1")
	imapPlain, imapSSL, imapPP, pop3, smtp, sieve := addrs[0], addrs[1], addrs[2], addrs[3], addrs[4], addrs[5]
	first := dialRaw(t, imapPlain)
	first.expect("* OK IMAP4 ready\r\n")
	second := dialRaw(t, pop3)
	second.expect("+OK POP3 ready\r\n")

	c := dialRaw(t, imapPlain)
	c.expect("* BYE [UNAVAILABLE] Too many connections, try again later\r\n")
	c.expectClosed()

	tc, err := tls.Dial("tcp", imapSSL, &tls.Config{InsecureSkipVerify: true})
	must(t, err)
	defer tc.Close()
	tc.SetDeadline(deadline())
	got, _ := io.ReadAll(tc)
	if string(got) != "* BYE [UNAVAILABLE] Too many connections, try again later\r\n" {
		t.Fatalf("TLS: %q", got)
	}

	c = dialRaw(t, imapPP)
	c.send("PROXY TCP4 192.0.2.1 192.0.2.2 1000 143\r\n")
	c.expect("* BYE [UNAVAILABLE] Too many connections, try again later\r\n")
	c.expectClosed()

	for addr, want := range map[string]string{
		pop3:  "-ERR [SYS/TEMP] Too many connections, try again later\r\n",
		smtp:  "421 4.3.2 Too many connections, try again later\r\n",
		sieve: "BYE (TRYLATER) \"Too many connections, try again later.\"\r\n",
	} {
		c := dialRaw(t, addr)
		c.expect(want)
		c.expectClosed()
	}
	events := rec.list()
	for p, n := range map[string]int{"imap": 3, "pop3": 1, "smtp": 1, "sieve": 1} {
		if got := countOf(events, "refused "+p+" max_connections"); got != n {
			t.Errorf("%s: %d refusals observed, want %d (%v)", p, got, n, events)
		}
	}
	if countOf(events, "start imap") != 1 || countOf(events, "start pop3") != 1 {
		t.Errorf("refused connections counted as sessions: %v", events)
	}
	if n := strings.Count(log.String(), `msg="connection refused: max_connections reached"`); n != 1 {
		t.Errorf("%d log lines about refusals, want 1:\n%s", n, log.String())
	}

	first.c.Close()
	waitSessions(t, srv, 1)
	c = dialRaw(t, smtp)
	c.expect("220 mx.example.com ESMTP ready\r\n")
}

const limitAddrYAML = `
limit_conn_zone:
  - {key: $remote_addr, zone: "addr:1m"}
mail:
  auth_http: http://AUTH/auth
  limit_conn: [{zone: addr, number: 2}]
servers:
  - protocol: imap
    listen:
      - 127.0.0.1:0
      - {address: "127.0.0.1:0", proxy_protocol: true}
    set_real_ip_from: [127.0.0.0/8]
  - protocol: pop3
    listen: [127.0.0.1:0]
`

// TestLimitConnRemoteAddr: a $remote_addr zone counts connections from
// accept, idle ones before login included, per client address (after a
// trusted PROXY header, the address it names), across servers sharing
// the zone; the one over the limit gets "* BYE [UNAVAILABLE] Too many
// connections" instead of the greeting.
func TestLimitConnRemoteAddr(t *testing.T) {
	srv, addrs, log, rec := startLimited(t, limitAddrYAML, "127.0.0.1:1")
	plain, pp, pop3 := addrs[0], addrs[1], addrs[2]
	a := dialFrom(t, "127.0.0.1", plain)
	a.expect("* OK IMAP4 ready\r\n")
	b := dialFrom(t, "127.0.0.1", pop3)
	b.expect("+OK POP3 ready\r\n")
	c := dialFrom(t, "127.0.0.1", plain)
	c.expect("* BYE [UNAVAILABLE] Too many connections\r\n")
	c.expectClosed()
	c = dialFrom(t, "127.0.0.1", pop3)
	c.expect("-ERR [SYS/TEMP] Too many connections\r\n")
	c.expectClosed()
	// Another address is not limited, nor a PROXY client's real address.
	dialFrom(t, "127.0.0.2", plain).expect("* OK IMAP4 ready\r\n")
	for range 2 {
		c = dialFrom(t, "127.0.0.1", pp)
		c.send("PROXY TCP4 192.0.2.7 192.0.2.2 1000 143\r\n")
		c.expect("* OK IMAP4 ready\r\n")
	}
	c = dialFrom(t, "127.0.0.3", pp)
	c.send("PROXY TCP4 192.0.2.7 192.0.2.2 1001 143\r\n")
	c.expect("* BYE [UNAVAILABLE] Too many connections\r\n")
	c.expectClosed()

	// The summary lines come as each session ends, after its client saw
	// the close.
	waitFor(t, func() bool { return strings.Count(log.String(), `outcome="too many connections"`) >= 3 }, "three limited sessions")
	text := log.String()
	limiting := regexp.MustCompile(`level=ERROR msg="limiting connections by zone \\"addr\\"" (?:\*=\d+ )?client=127\.0\.0\.1:`)
	if n := len(limiting.FindAllString(text, -1)); n != 2 {
		t.Errorf("%d limiting lines for 127.0.0.1, want 2:\n%s", n, text)
	}
	if !regexp.MustCompile(`level=ERROR msg="limiting connections by zone \\"addr\\"" (?:\*=\d+ )?client=192\.0\.2\.7:1001`).MatchString(text) {
		t.Errorf("no limiting line for the PROXY client:\n%s", text)
	}
	if n := strings.Count(text, `outcome="too many connections"`); n != 3 {
		t.Errorf("%d sessions ended by the limit, want 3:\n%s", n, text)
	}
	if n := countOf(rec.list(), "refused imap limit_conn") + countOf(rec.list(), "refused pop3 limit_conn"); n != 3 {
		t.Errorf("%d refusals observed, want 3", n)
	}
	// A count is given back when its connection closes.
	a.c.Close()
	waitSessions(t, srv, 4)
	dialFrom(t, "127.0.0.1", plain).expect("* OK IMAP4 ready\r\n")
}

// limitAuth answers with a login at backend, Auth-User upper-cased for
// user "Alice", and an X-User-Class header: gold for alice and bob.
func limitAuth(backend string) func(string) string {
	ok := okTo(backend)
	return func(req string) string {
		head := strings.TrimSuffix(ok(req), "\r\n")
		switch {
		case strings.Contains(req, "Auth-User: Alice\r\n"):
			head += "Auth-User: alice\r\nX-User-Class: gold\r\n"
		case strings.Contains(req, "Auth-User: alice\r\n"), strings.Contains(req, "Auth-User: bob\r\n"):
			head += "X-User-Class: gold\r\n"
		}
		return head + "\r\n"
	}
}

// TestLimitConnAtLogin: $remote_user and $auth_http_NAME zones count
// logged-in sessions, checked once the auth service accepted the login
// (the user after Auth-User, a header of the answer), as freenginx does:
// the login over the limit gets "TAG NO [UNAVAILABLE] Too many
// connections", the backend never sees it, and the count is given back
// when the session ends.
func TestLimitConnAtLogin(t *testing.T) {
	be := startIMAPBackend(t)
	must(t, be.AddUser("bob", "secret", true))
	auth := startAuth(t, limitAuth(be.Addr()))
	srv, addrs, log, _ := startLimited(t, `
limit_conn_zone:
  - {key: $remote_user, zone: "user:1m"}
  - {key: $auth_http_x_user_class, zone: "class:1m"}
mail:
  auth_http: http://AUTH/auth
servers:
  - protocol: imap
    listen: [127.0.0.1:0]
    limit_conn: [{zone: user, number: 1}]
    limit_conn_log_level: warn
  - protocol: imap
    listen: [127.0.0.1:0]
    limit_conn: [{zone: class, number: 1}]
`, auth.addr())
	byUser, byClass := addrs[0], addrs[1]

	a := dialRaw(t, byUser)
	a.expect("* OK IMAP4 ready\r\n")
	a.send("a LOGIN alice secret\r\n")
	a.expectLine("a OK ")
	// "Alice" becomes alice (Auth-User): the same key.
	c := dialRaw(t, byUser)
	c.expect("* OK IMAP4 ready\r\n")
	c.send("b LOGIN Alice secret\r\n")
	c.expect("b NO [UNAVAILABLE] Too many connections\r\n")
	c.expectClosed()
	c = dialRaw(t, byUser)
	c.expect("* OK IMAP4 ready\r\n")
	c.send("c LOGIN bob secret\r\n")
	c.expectLine("c OK ")
	c.send("c2 LOGOUT\r\n")

	// By a header of the answer: alice and bob are both gold.
	g := dialRaw(t, byClass)
	g.expect("* OK IMAP4 ready\r\n")
	g.send("d LOGIN bob secret\r\n")
	g.expectLine("d OK ")
	c = dialRaw(t, byClass)
	c.expect("* OK IMAP4 ready\r\n")
	c.send("e AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n")
	c.expect("e NO [UNAVAILABLE] Too many connections\r\n")
	c.expectClosed()

	// The summary lines come as each session ends, after its client saw
	// the close.
	waitFor(t, func() bool { return strings.Count(log.String(), `outcome="too many connections"`) >= 2 }, "two limited sessions")
	text := log.String()
	for _, want := range []string{
		`level=WARN msg="limiting connections by zone \"user\""`,
		`level=ERROR msg="limiting connections by zone \"class\""`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %s in:\n%s", want, text)
		}
	}
	if n := strings.Count(text, `outcome="too many connections"`); n != 2 {
		t.Errorf("%d sessions ended by a limit, want 2", n)
	}
	// The limit is given back at the end of the session.
	a.send("z LOGOUT\r\n")
	a.expectLine("* BYE")
	g.c.Close()
	waitSessions(t, srv, 0)
	c = dialRaw(t, byUser)
	c.expect("* OK IMAP4 ready\r\n")
	c.send("f LOGIN alice secret\r\n")
	c.expectLine("f OK ")
	c = dialRaw(t, byClass)
	c.expect("* OK IMAP4 ready\r\n")
	c.send("g LOGIN alice secret\r\n")
	c.expectLine("g OK ")
}

// TestLimitConnDryRun: a dry run logs the connection it would refuse and
// lets it through.
func TestLimitConnDryRun(t *testing.T) {
	be := startIMAPBackend(t)
	auth := startAuth(t, okTo(be.Addr()))
	_, addrs, log, rec := startLimited(t, `
limit_conn_zone: [{key: $remote_user, zone: "user:1m"}, {key: $remote_addr, zone: "addr:1m"}]
mail:
  auth_http: http://AUTH/auth
  limit_conn: [{zone: user, number: 1}, {zone: addr, number: 1}]
  limit_conn_dry_run: on
  limit_conn_log_level: info
servers:
  - protocol: imap
    listen: [127.0.0.1:0]
`, auth.addr())
	for _, tag := range []string{"a", "b"} {
		c := dialRaw(t, addrs[0])
		c.expect("* OK IMAP4 ready\r\n")
		c.send(tag + " LOGIN alice secret\r\n")
		c.expectLine(tag + " OK ")
	}
	text := log.String()
	for _, want := range []string{`level=INFO msg="limiting connections, dry run, by zone \"addr\""`, `level=INFO msg="limiting connections, dry run, by zone \"user\""`} {
		if !strings.Contains(text, want) {
			t.Errorf("no %s in:\n%s", want, text)
		}
	}
	if n := countOf(rec.list(), "refused imap limit_conn_dry_run"); n != 2 {
		t.Errorf("%d dry-run events, want 2: %v", n, rec.list())
	}
}

// TestMaxCommandsThroughProxy: max_commands from the configuration; the
// session ends "closed before login".
func TestMaxCommandsThroughProxy(t *testing.T) {
	_, addrs, log, _ := startLimited(t, `
mail:
  auth_http: http://AUTH/auth
  max_commands: 2
servers:
  - protocol: imap
    listen: [127.0.0.1:0]
`, "127.0.0.1:1")
	c := dialRaw(t, addrs[0])
	c.expect("* OK IMAP4 ready\r\n")
	c.send("a NOOP\r\nb CAPABILITY\r\nc NOOP\r\n")
	c.expect("a OK completed\r\n")
	c.expect("* CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTH=PLAIN\r\nb OK completed\r\n")
	c.expect("c BAD invalid command\r\n")
	c.expectClosed()
	for end := time.Now().Add(5 * time.Second); !strings.Contains(log.String(), `outcome="closed before login"`); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("log:\n%s", log.String())
		}
	}
	if !strings.Contains(log.String(), `msg="client sent too many commands"`) {
		t.Fatalf("log:\n%s", log.String())
	}
}

// TestReloadZoneKey: a reload may not give a zone another key (freenginx
// refuses it too); the same key, or a new zone, is fine.
func TestReloadZoneKey(t *testing.T) {
	yaml := func(key, zone string) *config.Config {
		cfg, err := config.Parse("test.yaml", []byte("limit_conn_zone: [{key: "+key+", zone: \""+zone+":1m\"}]\nmail: {auth_http: 127.0.0.1:1, limit_conn: [{zone: "+zone+", number: 1}]}\nservers: [{protocol: imap, listen: [\"127.0.0.1:0\"]}]\n"))
		must(t, err)
		return cfg
	}
	srv, err := proxy.New(yaml("$remote_addr", "z"), testLogger())
	must(t, err)
	must(t, srv.Listen())
	defer srv.Close()
	err = srv.Reload(yaml("$remote_user", "z"))
	if err == nil || err.Error() != `test.yaml:1: limit_conn_zone "z" uses the "$remote_user" key while previously it used the "$remote_addr" key` {
		t.Fatalf("reload: %v", err)
	}
	must(t, srv.Reload(yaml("$remote_addr", "z")))
	must(t, srv.Reload(yaml("$remote_user", "other")))
	// The running configuration is now the last one: z may come back
	// with any key.
	must(t, srv.Reload(yaml("$remote_user", "z")))
}
