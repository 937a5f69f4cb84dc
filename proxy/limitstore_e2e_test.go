package proxy_test

import (
	"strings"
	"testing"

	"mailproxy/internal/kvstore/kvstoretest"
)

// sharedLimitYAML is one instance of a pair sharing limit_conn counts in
// the store at STORE: one connection per user over both.
const sharedLimitYAML = `
limit_conn_store: STORE
limit_conn_zone: [{key: $remote_user, zone: "user:1m"}]
mail:
  auth_http: http://AUTH/auth
servers:
  - protocol: imap
    listen: [127.0.0.1:0]
    limit_conn: [{zone: user, number: 1}]
`

// TestLimitConnSharedStore: two instances with one limit_conn_store (a
// real redis-server) hold a per-user limit together — alice logged in on
// one is refused on the other until her first session ends — and with
// the store stopped, logins go through uncounted (fail open) with a
// warning and a store-error event, then are counted again once it is
// back.
func TestLimitConnSharedStore(t *testing.T) {
	redis := kvstoretest.Real(t)
	be := startIMAPBackend(t)
	for _, u := range []string{"bob", "carol", "dave"} {
		must(t, be.AddUser(u, "secret", true))
	}
	auth := startAuth(t, limitAuth(be.Addr()))
	cfg := strings.ReplaceAll(sharedLimitYAML, "STORE", redis.URL)
	srvA, addrsA, _, _ := startLimited(t, cfg, auth.addr())
	_, addrsB, logB, recB := startLimited(t, cfg, auth.addr())

	a := dialRaw(t, addrsA[0])
	a.expect("* OK IMAP4 ready\r\n")
	a.send("a LOGIN alice secret\r\n")
	a.expectLine("a OK ")
	b := dialRaw(t, addrsB[0])
	b.expect("* OK IMAP4 ready\r\n")
	b.send("b LOGIN alice secret\r\n")
	b.expect("b NO [UNAVAILABLE] Too many connections\r\n")
	b.expectClosed()
	c := dialRaw(t, addrsB[0])
	c.expect("* OK IMAP4 ready\r\n")
	c.send("c LOGIN bob secret\r\n")
	c.expectLine("c OK ")

	a.send("z LOGOUT\r\n")
	a.expectLine("* BYE")
	waitSessions(t, srvA, 0)
	b = dialRaw(t, addrsB[0])
	b.expect("* OK IMAP4 ready\r\n")
	b.send("d LOGIN alice secret\r\n")
	b.expectLine("d OK ")

	// The store stops: a second alice on A is let through, uncounted.
	redis.Stop()
	a = dialRaw(t, addrsA[0])
	a.expect("* OK IMAP4 ready\r\n")
	a.send("e LOGIN alice secret\r\n")
	a.expectLine("e OK ")
	c = dialRaw(t, addrsB[0])
	c.expect("* OK IMAP4 ready\r\n")
	c.send("f LOGIN carol secret\r\n")
	c.expectLine("f OK ")
	if n := countOf(recB.list(), "store error limit_conn"); n != 1 {
		t.Errorf("%d store-error events on B, want 1: %v", n, recB.list())
	}
	waitFor(t, func() bool { return strings.Contains(logB.String(), "limit_conn_store did not answer") }, "the fail-open warning")

	// Back (empty): counting resumes.
	redis.Start()
	var ok bool
	for i := 0; i < 50 && !ok; i++ {
		x := dialRaw(t, addrsB[0])
		x.expect("* OK IMAP4 ready\r\n")
		x.send("g LOGIN dave secret\r\n")
		x.expectLine("g OK ")
		y := dialRaw(t, addrsA[0])
		y.expect("* OK IMAP4 ready\r\n")
		y.send("h LOGIN dave secret\r\n")
		y.c.SetReadDeadline(deadline())
		line, _ := y.r.ReadString('\n')
		ok = line == "h NO [UNAVAILABLE] Too many connections\r\n"
		x.c.Close()
		y.c.Close()
	}
	if !ok {
		t.Fatal("the limit did not hold again once the store was back")
	}
}
